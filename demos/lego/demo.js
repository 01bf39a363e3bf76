/* The Lego figure (demos/lego/partial.html): hovering, focusing or tapping a hidden unit's picture
 * shows the test images that excite it most and least (samples.js pickStrips). */
import {pickStrips} from "../../js/samples.js";

for (const fig of document.querySelectorAll(".nnv-lego[data-strips]")) {
  pickStrips(fig, ".nnv-pick", fig.querySelector(".nnv-lego-grid"));
}
