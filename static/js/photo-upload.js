/*
 * The admin's photo upload. Without script the form posts every chosen file at
 * once. With it, photos can be dropped on the form, and each file goes in a
 * request of its own (asking for JSON) with its progress shown, so one large
 * file never holds up the rest; the page reloads once they are all in.
 * Messages are the server's, inserted as text.
 */
const form = document.querySelector("[data-upload-form]");

function row(list, name) {
  const item = document.createElement("li");
  const label = document.createElement("span");
  label.textContent = name;
  const bar = document.createElement("progress");
  bar.max = 100;
  bar.value = 0;
  const note = document.createElement("span");
  note.className = "upload-note";
  item.append(label, bar, note);
  list.append(item);
  return { item, bar, note };
}

function send(file, shown) {
  const body = new FormData();
  body.append("csrf_token", form.querySelector("[name=csrf_token]").value);
  body.append("alt", form.querySelector("[name=alt]").value);
  body.append("photos", file, file.name);
  return new Promise((resolve) => {
    const request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.setRequestHeader("Accept", "application/json");
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) {
        shown.bar.value = Math.round((100 * event.loaded) / event.total);
      }
    });
    request.addEventListener("load", () => {
      let answer = null;
      try {
        answer = JSON.parse(request.responseText);
      } catch {
        answer = null;
      }
      if (request.status === 200 && answer && answer.ok) {
        shown.bar.value = 100;
        shown.note.textContent = "added";
        resolve(true);
        return;
      }
      const tooLarge = `Over the ${form.dataset.maxMb} MB an upload may be.`;
      const message = request.status === 413 ? tooLarge : answer?.error?.message;
      shown.note.textContent = message || `Refused (${request.status}).`;
      shown.item.classList.add("upload-refused");
      resolve(false);
    });
    request.addEventListener("error", () => {
      shown.note.textContent = "The upload failed: check the connection and try again.";
      shown.item.classList.add("upload-refused");
      resolve(false);
    });
    request.send(body);
  });
}

if (form) {
  const input = form.querySelector("input[type=file]");
  const zone = form.querySelector("[data-drop-zone]");
  const list = form.querySelector("[data-upload-progress]");
  const maxBytes = Number(form.dataset.maxBytes);

  for (const name of ["dragenter", "dragover"]) {
    zone.addEventListener(name, (event) => {
      event.preventDefault();
      zone.classList.add("is-dragging");
    });
  }
  for (const name of ["dragleave", "drop"]) {
    zone.addEventListener(name, () => zone.classList.remove("is-dragging"));
  }
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    if (event.dataTransfer?.files?.length) {
      input.files = event.dataTransfer.files;
      input.dispatchEvent(new Event("change"));
    }
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const files = [...input.files];
    if (!files.length) {
      form.submit(); // the server says what is missing, as without script
      return;
    }
    list.replaceChildren();
    form.dataset.uploading = "true";
    let added = 0;
    for (const file of files) {
      const shown = row(list, file.name);
      if (file.size > maxBytes) {
        shown.note.textContent = `Over the ${form.dataset.maxMb} MB an upload may be.`;
        shown.item.classList.add("upload-refused");
        continue;
      }
      if (await send(file, shown)) {
        added += 1;
      }
    }
    delete form.dataset.uploading;
    form.dataset.uploaded = String(added);
    if (added === files.length) {
      window.location.assign(`${window.location.pathname}#product-photos`);
      window.location.reload();
    }
  });
}
