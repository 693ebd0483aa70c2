// The collection panel: the indexed documents (checkboxes restrict the chat to some of them), and with the
// admin token (kept in sessionStorage, sent only in the Authorization header) uploads, deletions and job progress.
// Text from the server only ever enters the page as text (textContent), never as HTML.
"use strict";

(() => {
  const TOKEN_KEY = "qa-admin-token";
  const list = document.getElementById("doc-list");
  const count = document.getElementById("doc-count");
  const scope = document.getElementById("scope");
  const allDocs = document.getElementById("all-docs");
  const unreadable = document.getElementById("unreadable");
  const unreadableList = document.getElementById("unreadable-list");
  const tokenForm = document.getElementById("token-form");
  const tokenInput = document.getElementById("admin-token");
  const forget = document.getElementById("forget-token");
  const uploadForm = document.getElementById("upload-form");
  const fileInput = document.getElementById("upload-file");
  const replace = document.getElementById("upload-replace");
  const status = document.getElementById("job-status");
  const checked = new Set(); // doc_ids the conversation is restricted to

  const el = window.qaEl; // web/static/dom.js
  const token = () => sessionStorage.getItem(TOKEN_KEY) || "";

  function sourceUrl(docId) {
    return `/source/${docId.split("/").map(encodeURIComponent).join("/")}`;
  }

  function showScope() {
    scope.textContent = checked.size ? `· answering from ${checked.size} checked` : "";
  }

  function documentItem(doc, admin) {
    const item = el("li", "doc");
    const id = `doc-${list.children.length}`;
    const box = el("input");
    box.type = "checkbox";
    box.id = id;
    box.checked = checked.has(doc.doc_id);
    box.addEventListener("change", () => {
      if (box.checked) checked.add(doc.doc_id);
      else checked.delete(doc.doc_id);
      showScope();
    });
    const label = el("label", "", doc.title);
    label.htmlFor = id;
    const link = el("a", "doc-link", doc.doc_id);
    link.href = sourceUrl(doc.doc_id);
    link.setAttribute("aria-label", `Open ${doc.title} (${doc.doc_id})`);
    item.append(box, label, link);
    if (admin) {
      const remove = el("button", "ghost danger", "Delete");
      remove.type = "button";
      remove.setAttribute("aria-label", `Delete ${doc.doc_id}`);
      remove.addEventListener("click", () => removeDocument(doc.doc_id));
      item.appendChild(remove);
    }
    return item;
  }

  async function load() {
    const response = await fetch("/api/documents", { headers: { Accept: "application/json" } });
    const data = await response.json().catch(() => null);
    if (!response.ok || !data) {
      count.textContent = "(not available)";
      return;
    }
    const known = new Set(data.documents.map((d) => d.doc_id));
    for (const id of [...checked]) if (!known.has(id)) checked.delete(id);
    list.replaceChildren();
    for (const doc of data.documents) list.appendChild(documentItem(doc, Boolean(token())));
    count.textContent = `(${data.documents.length})`;
    unreadableList.replaceChildren(...data.unreadable.map((u) => el("li", "", `${u.path}: ${u.message}`)));
    unreadable.hidden = data.unreadable.length === 0;
    showScope();
  }

  function showAdmin() {
    const admin = Boolean(token());
    uploadForm.hidden = !admin;
    forget.hidden = !admin;
    tokenInput.value = "";
    tokenInput.placeholder = admin ? "token in use for this tab" : "";
  }

  function describe(job) {
    if (job.state === "queued") return "Indexing job queued…";
    if (job.state === "running") {
      const p = job.progress || {};
      const part = p.total ? ` ${p.done} of ${p.total}` : "";
      return `Indexing: ${p.stage || "started"}${part}…`;
    }
    if (job.state === "done") {
      const r = job.result;
      return `Index updated: ${r.added} added, ${r.changed} changed, ${r.removed} removed; ${r.documents} documents.`;
    }
    return `Indexing failed: ${job.error ? job.error.message : "unknown reason"}`;
  }

  async function admin(url, options) {
    const response = await fetch(url, { ...options, headers: { Authorization: `Bearer ${token()}`, Accept: "application/json" } });
    const data = await response.json().catch(() => null);
    if (!response.ok) throw new Error(data && data.error ? data.error.message : `the server answered ${response.status}`);
    return data;
  }

  async function follow(job) {
    status.textContent = describe(job);
    while (job.state === "queued" || job.state === "running") {
      await new Promise((resolve) => setTimeout(resolve, 500));
      job = await admin(`/api/jobs/${encodeURIComponent(job.id)}`, {});
      status.textContent = describe(job);
    }
    await load();
  }

  async function upload(event) {
    event.preventDefault();
    const file = fileInput.files[0];
    if (!file) return;
    const body = new FormData();
    body.append("file", file);
    if (replace.checked) body.append("replace", "true");
    status.textContent = `Uploading ${file.name}…`;
    try {
      const data = await admin("/api/documents", { method: "POST", body });
      uploadForm.reset();
      await follow(data.job);
    } catch (err) {
      status.textContent = `Upload failed: ${err.message}`;
    }
  }

  async function removeDocument(docId) {
    if (!window.confirm(`Delete ${docId} from the corpus folder and the index?`)) return;
    const path = docId.split("/").map(encodeURIComponent).join("/");
    try {
      const data = await admin(`/api/documents/${path}`, { method: "DELETE" });
      await follow(data.job);
    } catch (err) {
      status.textContent = `Delete failed: ${err.message}`;
    }
  }

  tokenForm.addEventListener("submit", (event) => {
    event.preventDefault();
    if (tokenInput.value.trim()) sessionStorage.setItem(TOKEN_KEY, tokenInput.value.trim());
    showAdmin();
    load();
  });
  forget.addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    showAdmin();
    load();
  });
  allDocs.addEventListener("click", () => {
    checked.clear();
    for (const box of list.querySelectorAll("input[type=checkbox]")) box.checked = false;
    showScope();
  });
  uploadForm.addEventListener("submit", upload);

  // What chat.js sends with each question.
  window.qaCollection = { selected: () => [...checked] };
  showAdmin();
  load();
})();
