/* Mistakes gallery (demos/mistakes/partial.html renders every item and its labels).
 * Draws each item's test image (data-index) from the sample sprite, and folds long galleries to
 * their first rows behind a "show all" button. */
import {loadSamples} from "../../js/samples.js";

const FOLDED = 12;

function setup(fig) {
  for (const button of fig.querySelectorAll("button.mk-more")) {
    const box = button.closest(".mk-gallery-box");
    const items = [...box.querySelectorAll(".mk-item")];
    const fold = (folded) => {
      items.forEach((li, k) => { li.hidden = folded && k >= FOLDED; });
      button.textContent = folded ? button.dataset.more : button.dataset.fewer;
      button.setAttribute("aria-expanded", String(!folded));
    };
    button.addEventListener("click", () => fold(button.getAttribute("aria-expanded") === "true"));
    button.hidden = false;
    fold(true);
  }
  loadSamples(fig.dataset.dataset).then((samples) => {
    for (const li of fig.querySelectorAll(".mk-item")) {
      const canvas = samples.canvas(+li.dataset.index);
      canvas.setAttribute("aria-hidden", "true");
      canvas.removeAttribute("role");
      li.querySelector(".mk-img").append(canvas);
    }
    fig.classList.add("mk-ready");
  }, (err) => {
    fig.classList.add("mk-failed");
    console.error("mistakes demo:", err);
  });
}

document.querySelectorAll("figure.demo-mistakes").forEach(setup);
