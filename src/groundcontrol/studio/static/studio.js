// Template studio: live preview as the marketer types, "insert a field", and problem
// links that select the line they are about. Every page works without this script.
"use strict";
(function () {
  const form = document.getElementById("editor");
  if (!form) return;
  form.classList.add("scripted"); // field buttons work: their template text can hide
  const sample = form.querySelector("#sample");
  const gutter = form.querySelector(".gutter");
  const source = form.querySelector("#source");
  const problems = document.getElementById("problems");
  const preview = document.getElementById("preview");
  const busy = document.querySelector(".busy");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const fields = Array.from(form.querySelectorAll(".field"));
  let lastField = fields.find((field) => field.id !== "subject") || fields[0];
  let timer = null;
  let controller = null;

  function problemBox() {
    return problems.querySelector(".problem-box");
  }

  function listed(name) {
    const raw = problemBox() ? problemBox().dataset[name] : "";
    return raw ? raw.split(",") : [];
  }

  function markFields() {
    const bad = new Set(listed("errorFields"));
    for (const field of fields) {
      const key = field.id === "source" ? "source" : field.id;
      if (bad.has(key)) field.setAttribute("aria-invalid", "true");
      else field.removeAttribute("aria-invalid");
    }
  }

  function renderGutter() {
    if (!gutter) return;
    const bad = new Set(listed("errorLines").map(Number));
    const items = [];
    for (let n = 1; n <= source.value.split("\n").length; n++) {
      const li = document.createElement("li");
      li.textContent = String(n);
      if (bad.has(n)) li.className = "bad";
      items.push(li);
    }
    gutter.replaceChildren(...items);
    gutter.scrollTop = source.scrollTop;
  }

  function place(html) {
    const holder = document.createElement("div");
    holder.innerHTML = html;
    const part = (name) => holder.querySelector(`template[data-part="${name}"]`).content;
    problems.replaceChildren(part("problems"));
    preview.replaceChildren(part("preview"));
    markFields();
    renderGutter();
  }

  async function refresh() {
    if (controller) controller.abort();
    controller = new AbortController();
    busy.hidden = false;
    try {
      const response = await fetch(form.dataset.preview, {
        method: "POST",
        body: new FormData(form),
        headers: { "X-CSRF-Token": csrf },
        credentials: "same-origin",
        signal: controller.signal,
      });
      if (response.ok) place(await response.text());
    } catch (error) {
      if (error.name !== "AbortError") throw error;
    } finally {
      busy.hidden = true;
    }
  }

  function schedule() {
    renderGutter();
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  }

  function selectLine(field, line) {
    const lines = field.value.split("\n");
    const start = lines.slice(0, line - 1).reduce((sum, text) => sum + text.length + 1, 0);
    field.focus();
    field.setSelectionRange(start, start + (lines[line - 1] || "").length);
  }

  function insert(text) {
    const field = lastField;
    const start = field.selectionStart ?? field.value.length;
    const end = field.selectionEnd ?? start;
    field.setRangeText(text, start, end, "end");
    field.focus();
    schedule();
  }

  for (const field of fields) {
    field.addEventListener("input", schedule);
    field.addEventListener("focus", () => { lastField = field; });
  }
  for (const button of form.querySelectorAll("button.offer")) {
    button.disabled = false;
    button.addEventListener("click", () => insert(button.dataset.insert));
  }
  sample.addEventListener("change", refresh);
  if (source && gutter) {
    source.addEventListener("scroll", () => { gutter.scrollTop = source.scrollTop; });
  }
  problems.addEventListener("click", (event) => {
    const link = event.target.closest("a.goto");
    if (!link) return;
    event.preventDefault();
    const field = document.getElementById(link.dataset.field);
    if (field) selectLine(field, Number(link.dataset.line));
  });
  renderGutter();
})();
