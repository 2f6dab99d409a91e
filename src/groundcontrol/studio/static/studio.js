// Template studio: live preview as the marketer types, and line numbers that point at problems.
"use strict";
(function () {
  const form = document.getElementById("editor");
  if (!form) return;
  const source = form.querySelector("#source");
  const sample = form.querySelector("#sample");
  const gutter = form.querySelector(".gutter");
  const preview = document.getElementById("preview");
  const busy = document.querySelector(".busy");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  let timer = null;
  let controller = null;

  function errorLines() {
    const body = preview.querySelector(".preview-body");
    const raw = body ? body.dataset.errorLines : "";
    return new Set(raw ? raw.split(",").map(Number) : []);
  }

  function renderGutter() {
    const count = source.value.split("\n").length;
    const bad = errorLines();
    const items = [];
    for (let n = 1; n <= count; n++) {
      const li = document.createElement("li");
      li.textContent = String(n);
      if (bad.has(n)) li.className = "bad";
      items.push(li);
    }
    gutter.replaceChildren(...items);
    gutter.scrollTop = source.scrollTop;
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
      if (response.ok) {
        preview.innerHTML = await response.text();
        renderGutter();
      }
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

  function goToLine(line) {
    const lines = source.value.split("\n");
    const start = lines.slice(0, line - 1).reduce((sum, text) => sum + text.length + 1, 0);
    source.focus();
    source.setSelectionRange(start, start + (lines[line - 1] || "").length);
  }

  source.addEventListener("input", schedule);
  sample.addEventListener("change", refresh);
  source.addEventListener("scroll", () => { gutter.scrollTop = source.scrollTop; });
  preview.addEventListener("click", (event) => {
    const link = event.target.closest("a.goto");
    if (!link) return;
    event.preventDefault();
    goToLine(Number(link.dataset.line));
  });
  renderGutter();
})();
