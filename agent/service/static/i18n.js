"use strict";
// Texts in the station's languages (OCPP Language / SupportedLanguages): static/i18n/<lang>.json.
// The server lists the languages it has a catalogue for, the station's Language first.
const I18N = (() => {
  const KEY = "evse-service-language";
  const available = (document.body.dataset.languages || "en").split(",").filter(Boolean);
  let english = {};
  let catalog = {};
  let lang = "en";

  async function fetchCatalog(name) {
    const response = await fetch(`/static/i18n/${encodeURIComponent(name)}.json`, {credentials: "same-origin"});
    return response.ok ? response.json() : {};
  }

  function t(key, vars) {
    let text = catalog[key] ?? english[key] ?? key;
    for (const [name, value] of Object.entries(vars || {})) text = text.split(`{${name}}`).join(String(value));
    return text;
  }

  function apply(root) {
    (root || document).querySelectorAll("[data-i18n]").forEach(el => { el.textContent = t(el.dataset.i18n); });
    (root || document).querySelectorAll("[data-i18n-title]").forEach(el => { el.title = t(el.dataset.i18nTitle); });
  }

  async function use(name) {
    lang = available.includes(name) ? name : (available[0] || "en");
    english = await fetchCatalog("en");
    catalog = lang === "en" ? english : await fetchCatalog(lang);
    document.documentElement.lang = lang;
    apply();
  }

  async function init(select, onChange) {
    const stored = localStorage.getItem(KEY);
    await use(stored && available.includes(stored) ? stored : available[0]);
    if (select) {
      select.replaceChildren(...available.map(name => {
        const option = document.createElement("option");
        option.value = name;
        option.textContent = t(`language.${name}`) === `language.${name}` ? name : t(`language.${name}`);
        return option;
      }));
      select.value = lang;
      select.addEventListener("change", async () => {
        localStorage.setItem(KEY, select.value);
        await use(select.value);
        if (onChange) onChange();
      });
    }
  }

  return {t, apply, init, get lang() { return lang; }};
})();
