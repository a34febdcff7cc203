// Chinese / English strings for the pages. The language comes from ?lang=zh|en, else the last
// choice (localStorage, shared by every page of the device), else the browser's language.
"use strict";
const I18N = {
  LANGS: ["zh", "en"],
  lang: null,
  dict: {},
  initial() {
    const asked = new URLSearchParams(location.search).get("lang");
    if (this.LANGS.includes(asked)) return asked;
    const kept = localStorage.getItem("edge.lang");
    if (this.LANGS.includes(kept)) return kept;
    return navigator.language.startsWith("zh") ? "zh" : "en";
  },
  t(key, vars) {
    let s = this.dict[key] ?? key;
    for (const [k, v] of Object.entries(vars || {})) s = s.replaceAll(`{${k}}`, v);
    return s;
  },
  async load(lang) {
    const r = await fetch(`/static/i18n/${lang}.json`);
    if (!r.ok) throw new Error(`i18n ${lang}: HTTP ${r.status}`);
    this.dict = await r.json();
    this.lang = lang;
    localStorage.setItem("edge.lang", lang);
    const url = new URL(location.href);
    if (url.searchParams.has("lang")) {  // keep an address with ?lang= true to what it shows
      url.searchParams.set("lang", lang);
      history.replaceState(null, "", url);
    }
    document.documentElement.lang = lang;
    for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = this.t(el.dataset.i18n);
    const button = document.getElementById("lang");
    if (button) button.textContent = lang === "zh" ? "English" : "中文";
  },
  toggle() { return this.load(this.lang === "zh" ? "en" : "zh"); },
};
I18N.lang = I18N.initial();
