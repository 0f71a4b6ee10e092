// Inputs marked data-remember="key" keep their last value in this browser (e.g. the replay target).
const PREFIX = "webhook-inspector.";

function restore(root) {
  for (const input of root.querySelectorAll("input[data-remember]")) {
    if (!input.value) input.value = localStorage.getItem(PREFIX + input.dataset.remember) || "";
  }
}

export function initRemember() {
  restore(document);
  document.addEventListener("htmx:afterSettle", (event) => restore(event.target));
  document.addEventListener("change", (event) => {
    const input = event.target.closest("input[data-remember]");
    if (input) localStorage.setItem(PREFIX + input.dataset.remember, input.value);
  });
}
