// The chat: sends questions to /api/ask and shows the quoted answers.
// Text from the person or the documents only ever enters the page as text (textContent), never as HTML.
"use strict";

(() => {
  const log = document.getElementById("log");
  const empty = document.getElementById("empty");
  const form = document.getElementById("ask");
  const box = document.getElementById("question");
  const send = document.getElementById("send");
  const busy = document.getElementById("busy");
  const newChat = document.getElementById("new-chat");
  const el = window.qaEl; // web/static/dom.js
  let history = []; // earlier user turns, sent with follow-ups

  function sourceUrl(c) {
    const path = c.doc_id.split("/").map(encodeURIComponent).join("/");
    return `/source/${path}?start=${c.start}&end=${c.end}#cited`;
  }

  // Newest at the bottom; a long answer is shown from its question down, not from its last line.
  function addTurn(node, from) {
    empty.hidden = true;
    newChat.hidden = false;
    log.appendChild(node);
    (from || node).scrollIntoView({ block: from ? "start" : "end" });
  }

  function userTurn(question) {
    const turn = el("div", "turn user");
    turn.appendChild(el("span", "visually-hidden", "You asked:"));
    turn.appendChild(el("p", "bubble", question));
    return turn;
  }

  function citationLabel(c) {
    return c.section && c.section !== c.title ? `${c.title} › ${c.section}` : c.title;
  }

  // Helpful / not helpful, then an optional comment; sent with the answer to /api/feedback.
  function feedbackBox(answer, askedWith) {
    const box = el("div", "feedback");
    const prompt = el("span", "feedback-prompt", "Was this answer helpful?");
    const yes = el("button", "ghost", "Helpful");
    const no = el("button", "ghost", "Not helpful");
    const form = el("form", "feedback-form");
    form.hidden = true;
    const id = `comment-${document.querySelectorAll(".feedback").length}`;
    const label = el("label", "", "Comment (optional)");
    label.htmlFor = id;
    const comment = el("textarea");
    comment.id = id;
    comment.rows = 2;
    comment.maxLength = 2000;
    const sendIt = el("button", "ghost", "Send feedback");
    sendIt.type = "submit";
    form.append(label, comment, sendIt);
    const done = el("p", "feedback-status");
    done.setAttribute("role", "status");
    let verdict = null;
    for (const [button, value] of [[yes, "helpful"], [no, "not_helpful"]]) {
      button.type = "button";
      button.setAttribute("aria-pressed", "false");
      button.addEventListener("click", () => {
        verdict = value;
        yes.setAttribute("aria-pressed", String(value === "helpful"));
        no.setAttribute("aria-pressed", String(value === "not_helpful"));
        form.hidden = false;
        comment.focus();
      });
    }
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!verdict) return;
      const body = { question: answer.question, history: askedWith, answer, verdict, comment: comment.value.trim() || null };
      try {
        const response = await fetch("/api/feedback", {
          method: "POST",
          headers: { "Content-Type": "application/json", Accept: "application/json" },
          body: JSON.stringify(body),
        });
        const data = await response.json().catch(() => null);
        if (!response.ok) throw new Error(data && data.error ? data.error.message : `the server answered ${response.status}`);
        box.replaceChildren(el("p", "feedback-status", "Thank you: your feedback was recorded."));
      } catch (err) {
        done.textContent = `Feedback not sent: ${err.message}`;
      }
    });
    box.append(prompt, yes, no, form, done);
    return box;
  }

  function answerTurn(answer, askedWith) {
    const turn = el("article", "turn bot");
    turn.setAttribute("aria-label", "Answer");
    if (answer.search_query && answer.search_query !== answer.question) {
      turn.appendChild(el("p", "searched", `Searched for: ${answer.search_query}`));
    }
    if (answer.partial) {
      // Some shards of a cluster did not answer: what follows comes from the rest of the documents only.
      const names = answer.shards_missing.join(", ");
      turn.appendChild(el("p", "partial", `Only part of the documents could be searched (${names} did not answer in time). Ask again in a moment for a complete answer.`));
    }
    if (answer.abstained) {
      const notice = el("div", "declined");
      notice.appendChild(el("p", "declined-title", "Not found in these documents"));
      notice.appendChild(el("p", "", answer.answer));
      turn.appendChild(notice);
      turn.appendChild(feedbackBox(answer, askedWith));
      return turn;
    }
    for (const c of answer.citations) {
      const figure = el("figure", "quote");
      const quote = el("blockquote", "", c.quote);
      quote.cite = sourceUrl(c);
      const caption = el("figcaption");
      const link = el("a", "cite");
      link.href = sourceUrl(c);
      link.appendChild(el("span", "num", `[${c.id}]`));
      link.appendChild(document.createTextNode(` ${citationLabel(c)}`));
      link.setAttribute("aria-label", `Source ${c.id}: ${citationLabel(c)}`);
      caption.appendChild(link);
      figure.append(quote, caption);
      turn.appendChild(figure);
    }
    // A calibrated probability that the first quote answers (docs/QUALITY.md), not a score out of 100.
    const meta = el("p", "meta", `Estimated chance the first quote answers: ${Math.round(answer.confidence * 100)}%`);
    meta.title = "Calibrated on public benchmark questions; see docs/QUALITY.md";
    turn.appendChild(meta);
    turn.appendChild(feedbackBox(answer, askedWith));
    return turn;
  }

  function errorTurn(message) {
    const turn = el("div", "turn bot error");
    turn.setAttribute("role", "alert");
    turn.appendChild(el("p", "", message));
    return turn;
  }

  function setBusy(on) {
    box.disabled = on;
    send.disabled = on;
    busy.hidden = !on;
    form.setAttribute("aria-busy", on ? "true" : "false");
    if (!on) box.focus();
  }

  async function ask(question) {
    const asked = userTurn(question);
    addTurn(asked);
    setBusy(true);
    try {
      const body = { question, history };
      const chosen = window.qaCollection ? window.qaCollection.selected() : [];
      if (chosen.length) body.doc_ids = chosen; // only the documents checked in the collection panel
      const response = await fetch("/api/ask", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(body),
      });
      const data = await response.json().catch(() => null);
      if (response.ok && data) {
        const askedWith = history.slice();
        history.push(question);
        addTurn(answerTurn(data, askedWith), asked);
      } else {
        const message = data && data.error ? data.error.message : `The server answered ${response.status}.`;
        addTurn(errorTurn(`Sorry, that did not work: ${message}`), asked);
      }
    } catch (err) {
      addTurn(errorTurn("Sorry, the server could not be reached. Check that it is running and try again."), asked);
    } finally {
      setBusy(false);
    }
  }

  function submit() {
    const question = box.value.trim();
    if (!question || box.disabled) return;
    box.value = "";
    fit();
    ask(question);
  }

  // Grow the box with its text, up to the CSS max-height.
  function fit() {
    box.style.height = "auto";
    box.style.height = `${box.scrollHeight}px`;
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  box.addEventListener("keydown", (event) => {
    // isComposing: Enter that confirms an input-method candidate must not send.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  });
  box.addEventListener("input", fit);
  for (const button of document.querySelectorAll(".example")) {
    button.addEventListener("click", () => ask(button.textContent.trim()));
  }
  newChat.addEventListener("click", () => {
    history = [];
    for (const turn of log.querySelectorAll(".turn")) turn.remove();
    empty.hidden = false;
    newChat.hidden = true;
    box.focus();
  });
  box.focus();
})();
