// The glossary (/glossary): every metric of the page and the reports, in the chosen language.
"use strict";

function render() {
  const terms = I18N.dict.glossary_terms || [];
  const content = document.getElementById("content");
  content.innerHTML = `<p>${esc(I18N.t("g_intro"))}</p><dl id="glossary" class="glossary panel">` +
    terms.map(k => `<dt id="${k}">${esc(I18N.t("g_" + k))}</dt><dd>${esc(I18N.t("g_" + k + "_text"))}</dd>`).join("") +
    "</dl>";
  content.setAttribute("aria-busy", "false");
  if (location.hash) document.getElementById(location.hash.slice(1))?.scrollIntoView();
}

async function main() {
  await I18N.load(I18N.lang);
  document.getElementById("lang").addEventListener("click", () => I18N.toggle().then(render));
  render();
}

main();
