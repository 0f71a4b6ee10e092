// Copy buttons: <button data-copy="#selector"> copies that element's value or text.

// Masking is for the screen: a copied command carries the real values, or it would not work.
function plainText(source) {
  const copy = source.cloneNode(true);
  for (const box of copy.querySelectorAll(".masked")) box.replaceWith(box.querySelector(".secret").textContent);
  // A table of name/value pairs (headers) is copied as "name: value" lines.
  if (copy.tagName === "TABLE") {
    return [...copy.querySelectorAll("tbody tr")].map((row) => [...row.cells].map((cell) => cell.textContent).join(": ")).join("\n");
  }
  return copy.textContent;
}

export function initCopy() {
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-copy]");
    if (!button) return;
    const source = document.querySelector(button.dataset.copy);
    if (!source) return;
    const text = "value" in source && source.value !== undefined ? source.value : plainText(source);
    const label = button.textContent;
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // Plain-http origins other than localhost have no clipboard API: select the text instead.
      const range = document.createRange();
      range.selectNodeContents(source);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      if ("select" in source) source.select();
      document.execCommand("copy");
    }
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = label; }, 1500);
  });
}
