// Masked header values (credentials, signatures): "reveal" shows the value in place.
export function initReveal() {
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-reveal]");
    if (!button) return;
    const box = button.closest(".masked");
    box.querySelector(".secret").hidden = false;
    box.querySelector(".mask").hidden = true;
    button.remove();
  });
}
