// Chinese / English strings for the pages; the choice is kept in localStorage.
"use strict";
const I18N = {
  lang: localStorage.getItem("edge.lang") || (navigator.language.startsWith("zh") ? "zh" : "en"),
  dict: {},
  t(key, vars) {
    let s = this.dict[key] ?? key;
    for (const [k, v] of Object.entries(vars || {})) s = s.replace(`{${k}}`, v);
    return s;
  },
  async load(lang) {
    const r = await fetch(`/static/i18n/${lang}.json`);
    if (!r.ok) throw new Error(`i18n ${lang}: HTTP ${r.status}`);
    this.dict = await r.json();
    this.lang = lang;
    localStorage.setItem("edge.lang", lang);
    document.documentElement.lang = lang;
    for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = this.t(el.dataset.i18n);
    const button = document.getElementById("lang");
    if (button) button.textContent = lang === "zh" ? "EN" : "中文";
  },
  toggle() { return this.load(this.lang === "zh" ? "en" : "zh"); },
};
