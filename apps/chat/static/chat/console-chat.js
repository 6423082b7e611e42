/* The console's live chat panel: messages over the console socket, typing both ways, delivery state.
 * console.js hands over every chat.* frame and tells us when its socket (re)connects; we then ask
 * for everything after the last sequence number we have, and resend what was never acknowledged.
 * While connected, a number we skipped, or a chat.state (answer to the chat.ping sent every
 * PING_MS) whose last_seq is above ours, means pushes were lost (a Redis outage leaves the
 * socket open but silent): we ask for a replay. The agent writes in the ticket page's one composer
 * (console.js): its "To the visitor, live" lines and files come here, through sendLine and sendFile. */
(function () {
  "use strict";
  var panel = document.getElementById("chat-panel");
  if (!panel) return;
  var ref = panel.dataset.ref, lastSeq = parseInt(panel.dataset.lastSeq || "0", 10);
  var thread = document.getElementById("thread"), controls = document.getElementById("chat-controls");
  var typingLine = document.getElementById("chat-typing");
  var stateChip = document.getElementById("chat-state");
  var send = null, outbox = [], typingSent = 0, typingTimer = null, readSent = 0, visitorRead = 0;
  var PING_MS = 15000, have = {}, resumeAsked = 0;   // have: seq -> true for numbers above lastSeq

  function text(tag, value, cls) { var el = document.createElement(tag); el.textContent = value; if (cls) el.className = cls; return el; }
  var stamp = window.CONSOLE.localTime;   // console.js: the agent's own zone and language
  function newId() { return "a-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 10); }
  function place(li, seq) {
    /* Chat lines stay in sequence order, before lines still waiting for their number; lines
       rendered with the page are older than any number that arrives later. */
    li.dataset.seq = seq;
    var before = Array.prototype.filter.call(thread.children, function (x) {
      return x !== li && ((x.dataset.seq && +x.dataset.seq > seq) || (x.dataset.client && !x.dataset.seq));
    })[0];
    thread.insertBefore(li, before || null);
  }
  function attachment(a) {
    /* A download link through the console (the agent's own session), with the page's paperclip. */
    var div = document.createElement("div"), link = text("a", a.filename);
    link.href = panel.dataset.attachmentUrl.replace(/0\/$/, a.id + "/");
    link.insertBefore(document.getElementById("paperclip").content.firstElementChild.cloneNode(true), link.firstChild);
    div.className = "attachment"; div.appendChild(link);
    return div;
  }
  function onlyFileName(m) {
    /* A file sent in the chat has its name as its text: shown once, as the link. */
    return m.attachments && m.attachments.length === 1 && m.attachments[0].filename === m.body;
  }
  function line(m) {
    var li = document.createElement("li");
    li.className = "msg " + (m.from === "agent" ? "outbound" : "inbound");
    if (m.id) li.dataset.id = m.id;
    li.appendChild(text("div", (m.author || "") + (m.at ? " · " + stamp(m.at) : ""), "meta"));
    li.appendChild(text("div", onlyFileName(m) ? "" : m.body, "body"));   // text only: never HTML from visitors
    (m.attachments || []).forEach(function (a) { li.appendChild(attachment(a)); });
    if (m.from === "agent") li.appendChild(text("div", "", "delivery"));
    return li;
  }
  function delivery(li, key) {
    var el = li.querySelector(".delivery");
    if (el) { el.textContent = panel.dataset["s" + key[0].toUpperCase() + key.slice(1)]; li.dataset.delivery = key; }
  }
  function resume() {
    if (!send) return;
    resumeAsked = Date.now(); send({type: "chat.resume", ticket: ref, after: lastSeq});
  }
  function seen(seq) {
    /* lastSeq is the highest number with no gap below it; anything above it means a push was
       lost (between server processes, or while Redis was away): ask for a replay, at most once a second. */
    if (!seq || seq <= lastSeq) return;
    have[seq] = true;
    while (have[lastSeq + 1]) { delete have[lastSeq + 1]; lastSeq++; }
    if (Object.keys(have).length && Date.now() - resumeAsked > 1000) resume();
  }
  function onMessage(m) {
    seen(m.seq);
    var li = (m.client_id && thread.querySelector('li[data-client="' + m.client_id + '"]')) ||
             thread.querySelector('li[data-id="' + m.id + '"]');
    var known = !!li;      // a replay of a line the panel already shows is not news
    if (!li) { li = line(m); }
    if (m.seq) place(li, m.seq);
    if (m.from === "agent") delivery(li, m.seq <= visitorRead ? "read" : "sent");
    if (m.from === "visitor") { typingLine.textContent = ""; markRead(); if (!known) visitorWrote(m); }
  }
  /* A visitor's new line: counted in the title; rung and notified while the agent is on another tab. */
  function visitorWrote(m) {
    window.CONSOLE.attention();
    if (document.hidden) {
      window.CONSOLE.alertAgent((m.author || panel.dataset.visitor) + " · " + ref, m.body || "", "chat-" + ref,
                                location.pathname);
    }
  }
  function markRead() {
    if (document.hidden || !send || lastSeq <= readSent) return;
    readSent = lastSeq; send({type: "chat.read", ticket: ref, seq: lastSeq});
  }
  function showState(state) {
    panel.dataset.state = state;
    stateChip.textContent = state === "ended" ? panel.dataset.sEnded : state === "waiting" ? panel.dataset.sWaiting : panel.dataset.sActive;
    controls.hidden = state === "ended";
    if (state === "ended" && window.CONSOLE.liveEnded) window.CONSOLE.liveEnded();   // the composer stops offering it
  }

  window.consoleChat = {
    connected: function (sendFn) {
      send = sendFn;
      resume();
      outbox.forEach(function (m) { send(m); });
    },
    handle: function (frame, sendFn) {
      send = sendFn;
      if (frame.ticket && frame.ticket !== ref) return;
      if (frame.type === "chat.message") return onMessage(frame);
      if (frame.type === "chat.ack") {
        outbox = outbox.filter(function (m) { return m.client_id !== frame.client_id; });
        var li = thread.querySelector('li[data-client="' + frame.client_id + '"]');
        if (li) {
          var twin = thread.querySelector('li[data-id="' + frame.id + '"]');   // pushed as a ticket event first
          if (twin && twin !== li) twin.remove();
          li.dataset.id = frame.id; place(li, frame.seq); delivery(li, frame.seq <= visitorRead ? "read" : "sent");
          if (frame.at) li.querySelector(".meta").textContent = panel.dataset.agent + " · " + stamp(frame.at);
        }
        seen(frame.seq);
        return;
      }
      if (frame.type === "chat.typing") {
        typingLine.textContent = panel.dataset.sTyping.replace("%(name)s", panel.dataset.visitor);
        clearTimeout(typingTimer); typingTimer = setTimeout(function () { typingLine.textContent = ""; }, 4000);
        return;
      }
      if (frame.type === "chat.read") {
        visitorRead = Math.max(visitorRead, frame.seq);
        thread.querySelectorAll("li.outbound[data-seq]").forEach(function (li) {
          if (+li.dataset.seq <= visitorRead) delivery(li, "read");
        });
        return;
      }
      if (frame.type === "chat.state") {
        visitorRead = Math.max(visitorRead, frame.visitor_read_seq || 0);
        if (frame.last_seq > lastSeq && Date.now() - resumeAsked > 1000) resume();
        showState(frame.state); markRead(); return;
      }
      if (frame.type === "chat.ended") { showState("ended"); return; }
      if (frame.type === "error" && frame.client_id) {
        outbox = outbox.filter(function (m) { return m.client_id !== frame.client_id; });
        var failed = thread.querySelector('li[data-client="' + frame.client_id + '"]');
        if (failed) delivery(failed, "failed");
      }
    }
  };

  /* A line for the visitor: shown at once as "Sending…", resent after a reconnect until acknowledged. */
  function sendLine(value) {
    value = value.trim();
    if (!value) return;
    var frame = {type: "chat.send", ticket: ref, client_id: newId(), body: value};
    var li = line({from: "agent", body: value, author: panel.dataset.agent});
    li.dataset.client = frame.client_id;
    thread.appendChild(li); delivery(li, "sending");
    outbox.push(frame);
    if (send) send(frame);
  }
  function sendFile(file) {
    /* A file goes over HTTP (the socket carries text); the answer is the chat.ack the socket would send. */
    var clientId = newId(), data = new FormData();
    data.append("client_id", clientId); data.append("file", file, file.name);
    var li = line({from: "agent", body: file.name, author: panel.dataset.agent});
    li.dataset.client = clientId; thread.appendChild(li); delivery(li, "sending");
    function failed(detail) { delivery(li, "failed"); if (detail) li.querySelector(".delivery").textContent += ": " + detail; }
    fetch(panel.dataset.uploadUrl, {method: "POST", body: data, credentials: "same-origin",
                                    headers: {"X-CSRFToken": panel.querySelector("[name=csrfmiddlewaretoken]").value}})
      .then(function (response) { return response.json().then(function (reply) { return [response.status, reply]; }); })
      .then(function (answer) {
        var reply = answer[1];
        if (answer[0] !== 201) return failed(reply.detail);
        (reply.attachments || []).forEach(function (a) { li.insertBefore(attachment(a), li.querySelector(".delivery")); });
        if (onlyFileName({body: file.name, attachments: reply.attachments})) li.querySelector(".body").textContent = "";
        window.consoleChat.handle(reply, send);
      })
      .catch(function () { failed(""); });
  }
  function typing() {
    if (send && Date.now() - typingSent > 2000) { typingSent = Date.now(); send({type: "chat.typing", ticket: ref}); }
  }
  window.consoleChat.sendLine = sendLine;
  window.consoleChat.sendFile = sendFile;
  window.consoleChat.typing = typing;
  document.getElementById("chat-end").addEventListener("click", function () {
    if (send) send({type: "chat.end", ticket: ref});
  });
  document.addEventListener("visibilitychange", markRead);
  setInterval(function () { if (send) send({type: "chat.ping", ticket: ref}); }, PING_MS);
})();
