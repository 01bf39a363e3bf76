/* The filters figure (demos/filters/partial.html): hovering, focusing or tapping a hidden neuron's
 * picture shows the test images that excite it most and least (samples.js pickStrips). */
import {pickStrips} from "../../js/samples.js";

for (const fig of document.querySelectorAll(".nv-filters[data-strips]")) {
  pickStrips(fig, ".nv-filters-pick", fig.querySelector(".nv-filters-grid"));
}
