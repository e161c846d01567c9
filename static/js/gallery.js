/*
 * The product page's gallery. Without script it is a strip of photos that scrolls
 * and snaps (a swipe on a phone) with thumbnails that link to each one. This adds
 * the previous / next buttons, the arrow keys (and Home / End) on the strip, and
 * keeps the current thumbnail marked as the strip moves, by a swipe or otherwise.
 */
for (const gallery of document.querySelectorAll("[data-gallery]")) {
  const strip = gallery.querySelector("[data-gallery-slides]");
  const slides = [...gallery.querySelectorAll("[data-gallery-slide]")];
  const thumbs = [...gallery.querySelectorAll("[data-gallery-thumb]")];
  const previous = gallery.querySelector("[data-gallery-prev]");
  const next = gallery.querySelector("[data-gallery-next]");
  let current = 0;

  function mark(index) {
    current = index;
    thumbs.forEach((thumb, i) => {
      if (i === index) {
        thumb.setAttribute("aria-current", "true");
      } else {
        thumb.removeAttribute("aria-current");
      }
    });
    gallery.dataset.current = String(index);
    previous.disabled = index === 0;
    next.disabled = index === slides.length - 1;
  }

  // While a button, key or thumbnail moves the strip, the slides it passes are not the
  // current one: the observer is ignored until the strip comes to rest (scrollend, or a
  // second later where a browser has no such event).
  let steering = false;
  let settle;

  function offsetOf(slide) {
    return slide.offsetLeft - strip.offsetLeft;
  }

  function show(index) {
    const target = Math.max(0, Math.min(slides.length - 1, index));
    const reduce = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    steering = Math.abs(strip.scrollLeft - offsetOf(slides[target])) >= 1;
    clearTimeout(settle);
    settle = setTimeout(() => (steering = false), 1000);
    mark(target);
    strip.scrollTo({ left: offsetOf(slides[target]), behavior: reduce ? "auto" : "smooth" });
  }

  function markNearest() {
    const distances = slides.map((slide) => Math.abs(strip.scrollLeft - offsetOf(slide)));
    mark(distances.indexOf(Math.min(...distances)));
  }

  previous.hidden = false;
  next.hidden = false;
  previous.addEventListener("click", () => show(current - 1));
  next.addEventListener("click", () => show(current + 1));
  thumbs.forEach((thumb, i) =>
    thumb.addEventListener("click", (event) => {
      event.preventDefault();
      show(i);
    }),
  );
  strip.addEventListener("keydown", (event) => {
    const moves = { ArrowLeft: current - 1, ArrowRight: current + 1, Home: 0, End: slides.length - 1 };
    if (event.key in moves) {
      event.preventDefault();
      show(moves[event.key]);
    }
  });
  // A swipe (or any scroll) moves the strip itself: the slide most in view is the current one.
  const seen = new IntersectionObserver(
    (entries) => {
      for (const entry of entries) {
        if (!steering && entry.isIntersecting && entry.intersectionRatio >= 0.6) {
          mark(slides.indexOf(entry.target));
        }
      }
    },
    { root: strip, threshold: [0.6] },
  );
  slides.forEach((slide) => seen.observe(slide));
  strip.addEventListener("scrollend", () => {
    steering = false;
    markNearest();
  });
  mark(0);
}
