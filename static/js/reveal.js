// One "Show secrets" per request view: credential and signature values are masked in every tab
// (Overview, Raw, cURL, the replay editor, attempts) until it is pressed, and masked again after.
const MASK = "••••••••";

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

// The replay editor is a textarea: swap each masked "Name: value" line, keeping the user's edits.
function swapEditor(editor, reveal) {
  let secrets;
  try {
    secrets = JSON.parse(editor.dataset.secrets || "[]");
  } catch {
    return;
  }
  let text = editor.value;
  for (const [name, value] of secrets) {
    const [from, to] = reveal ? [MASK, value] : [value, MASK];
    const line = new RegExp(`^(${escapeRegExp(name)}:[ \\t]*)${escapeRegExp(from)}[ \\t]*$`, "im");
    text = text.replace(line, (_, head) => head + to);
  }
  editor.value = text;
}

export function initReveal() {
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-reveal]");
    if (!button) return;
    const view = button.closest(".request");
    if (!view) return;
    const reveal = !view.classList.contains("revealed");
    view.classList.toggle("revealed", reveal);
    button.setAttribute("aria-pressed", String(reveal));
    button.textContent = button.textContent.replace(reveal ? "Show" : "Hide", reveal ? "Hide" : "Show");
    for (const editor of view.querySelectorAll("textarea[data-secrets]")) swapEditor(editor, reveal);
  });
}
