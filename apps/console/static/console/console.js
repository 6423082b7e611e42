/* The agent console: one websocket, live queue and ticket updates, offers, SLA countdowns.
 * Every change arrives as a "ticket.event" whose id is a cursor; after a reconnect the
 * console asks for everything after its cursor, so nothing is missed. A heartbeat answered
 * with "resync" (Redis was away: the socket stayed open but pushes were lost) does the same. */
(function () {
  "use strict";
  var S = JSON.parse(document.getElementById("console-strings").textContent);
  var page = document.querySelector("[data-console]");
  var mode = page ? page.dataset.console : "";
  var ticketRef = mode === "ticket" ? page.dataset.ref : null;
  var WAITING = ["new", "open", "pending"];
  var socket = null, retry = 0, heartbeatTimer = null, viewingTimer = null, currentOffer = null;
  var handled = {}, handledCount = 0;   // ticket.event ids: a resync may repeat what also came live
  var status = document.getElementById("live-status");

  function fmt(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_, key) { return values[key] == null ? "" : values[key]; });
  }
  function cursor() { return parseInt(localStorage.getItem("console.cursor") || "0", 10); }
  function setCursor(id) { if (id > cursor()) localStorage.setItem("console.cursor", String(id)); }
  function send(frame) { if (socket && socket.readyState === 1) socket.send(JSON.stringify(frame)); }
  function text(tag, value, cls) {
    var el = document.createElement(tag); el.textContent = value; if (cls) el.className = cls; return el;
  }
  /* The one date format of the console, as the server writes it (apps/accounts/moments.py): CLDR's
     short date and time in the agent's language and zone, with plain spaces. */
  function localTime(iso) {
    try {
      return new Intl.DateTimeFormat(CONSOLE.language, {dateStyle: "short", timeStyle: "short",
        timeZone: CONSOLE.timeZone}).format(new Date(iso)).replace(/\u202f/g, " ");
    } catch (e) { return iso; }
  }
  CONSOLE.localTime = localTime;     // the chat panel (apps/chat, loaded after this) shows its times the same way

  // While the console's tab is in the background, what needs the agent (an offer, a visitor's
  // line) counts in the tab's title, "(2) …", until the agent comes back to it.
  var baseTitle = document.title, unseen = 0;
  function attention() {
    if (!document.hidden) return;
    unseen++; document.title = "(" + unseen + ") " + baseTitle;
  }
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && unseen) { unseen = 0; document.title = baseTitle; }
  });
  CONSOLE.attention = attention;     // the chat panel calls it for a visitor's line

  // Offers and customers' replies also ring and show a browser notification, when the agent's
  // profile says so. The browser asks for permission once, on the agent's first click or key
  // (browsers ignore a request that no gesture started).
  var ASKED = "console.notificationsAsked", sound = null;
  function askOnce() {
    if (!CONSOLE.notify || !("Notification" in window) || Notification.permission !== "default") return;
    if (localStorage.getItem(ASKED)) return;
    localStorage.setItem(ASKED, "1");
    Notification.requestPermission();
  }
  document.addEventListener("click", askOnce, {once: true});
  document.addEventListener("keydown", askOnce, {once: true});
  function alertAgent(title, body, tag, url) {
    if (!CONSOLE.notify) return;
    try {
      sound = sound || new Audio(CONSOLE.sound);
      sound.currentTime = 0;
      var playing = sound.play();
      if (playing && playing.catch) playing.catch(function () {});   // no gesture yet: silent, not an error
    } catch (e) { /* no audio device */ }
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    try {
      var shown = new Notification(title, {body: body || "", tag: tag});
      shown.onclick = function () { window.focus(); if (url) location.href = url; shown.close(); };
    } catch (e) { /* some browsers allow notifications only from a service worker */ }
  }
  CONSOLE.alertAgent = alertAgent;   // the chat panel calls it for a visitor's line in a chat out of sight

  // The agent's other chats: a visitor's new line there shows as a link at the top of every
  // console page (kept for the tab's session) until the agent opens that chat.
  var ALERTS = "console.chatAlerts";
  function chatAlerts() {
    try { return JSON.parse(sessionStorage.getItem(ALERTS) || "{}"); } catch (e) { return {}; }
  }
  function showChatAlerts(alerts) {
    sessionStorage.setItem(ALERTS, JSON.stringify(alerts));
    var box = document.getElementById("chat-alerts");
    if (!box) return;
    box.textContent = "";
    Object.keys(alerts).forEach(function (ref) {
      var alert = alerts[ref], line = document.createElement("p"), link = document.createElement("a");
      link.href = "/console/tickets/" + ref + "/";
      link.textContent = fmt(S.chatAlert, {ticket: ref, author: alert.author, count: alert.count});
      line.className = "chat-alert"; line.dataset.ref = ref;
      line.appendChild(link); line.appendChild(text("span", alert.body.slice(0, 80), "preview"));
      box.appendChild(line);
    });
  }
  function chatElsewhere(frame) {
    var alerts = chatAlerts(), alert = alerts[frame.ticket] || {count: 0, seq: 0};
    if (frame.seq <= alert.seq) return;          // a replay of a line already counted
    alerts[frame.ticket] = {count: alert.count + 1, seq: frame.seq, author: frame.author || "", body: frame.body || ""};
    showChatAlerts(alerts); attention();
    alertAgent(fmt(S.chatAlert, {ticket: frame.ticket, author: frame.author || "", count: alert.count + 1}),
               frame.body, "chat-" + frame.ticket, "/console/tickets/" + frame.ticket + "/");
  }
  var openAlerts = chatAlerts();
  if (ticketRef) delete openAlerts[ticketRef];   // the chat on screen is being read
  showChatAlerts(openAlerts);

  // One heartbeat at most every 10 s, whichever asks first: this page's timer or the server.
  var lastBeat = 0;
  function beat() {
    if (Date.now() - lastBeat < 10000) return;
    lastBeat = Date.now();
    send({type: "heartbeat"});
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/ws/console/");
    socket.onopen = function () {
      retry = 0;
      status.textContent = status.title = S.connected; status.className = "live on";
      if (cursor()) send({type: "resync", after: cursor()});
      if (window.consoleChat) window.consoleChat.connected(send);   // apps/chat: live chat panel
      lastBeat = 0;
      heartbeatTimer = setInterval(beat, 20000);     // the server also asks (heartbeat.due): a hidden tab's timers run late
      if (ticketRef) {
        send({type: "viewing", ticket: ticketRef});
        viewingTimer = setInterval(function () { send({type: "viewing", ticket: ticketRef}); }, 15000);
      }
    };
    socket.onmessage = function (message) { handle(JSON.parse(message.data)); };
    socket.onclose = function (event) {
      clearInterval(heartbeatTimer); clearInterval(viewingTimer);
      status.textContent = status.title = S.reconnecting; status.className = "live off";
      if (event.code === 4401 || event.code === 4403) return;   // not allowed: do not hammer the server
      retry = Math.min(retry + 1, 6);
      setTimeout(connect, 250 * Math.pow(2, retry));
    };
  }

  function handle(frame) {
    if (frame.type === "chat.message" && frame.from === "visitor" && frame.ticket !== ticketRef) {
      chatElsewhere(frame); return;
    }
    if (window.consoleChat && (frame.type.indexOf("chat.") === 0 ||
        (frame.type === "error" && String(frame.request).indexOf("chat.") === 0))) {
      window.consoleChat.handle(frame, send); return;
    }
    if (frame.type === "hello") {
      if (!cursor()) setCursor(frame.cursor);
      var presence = document.getElementById("presence");   // connecting made the agent online
      if (presence && frame.presence) presence.value = frame.presence;
      return;
    }
    if (frame.type === "heartbeat") { if (frame.resync && cursor()) send({type: "resync", after: cursor()}); return; }
    if (frame.type === "heartbeat.due") { beat(); return; }
    if (frame.type === "ticket.event") {
      if (handled[frame.id]) return;
      if (++handledCount > 5000) { handled = {}; handledCount = 1; }
      handled[frame.id] = true;
      setCursor(frame.id); onTicketEvent(frame); return;
    }
    if (frame.type === "offer") { showOffer(frame); return; }
    if (frame.type === "accepted") { location.href = "/console/tickets/" + frame.ticket + "/"; return; }
    if (frame.type === "viewers") { showViewers(frame); return; }
    if (frame.type === "alert.misassigned") { showMisassigned(frame); return; }
    if (frame.type === "error") { showError(frame.detail); }
  }

  /* The manager hears at once when an owner returns a ticket as not theirs. */
  function showMisassigned(frame) {
    var box = document.getElementById("chat-alerts"), link = document.createElement("a");
    link.href = "/console/tickets/" + frame.ticket + "/"; link.className = "misassigned";
    link.textContent = S.misassigned.replace("%(owner)s", frame.owner).replace("%(ticket)s", frame.ticket)
      .replace("%(extension)s", frame.extension);
    if (box) box.appendChild(link);
    attention();
  }

  function onTicketEvent(frame) {
    var t = frame.ticket;
    if (mode === "home") upsertRow(t);
    if (ticketRef && t.reference === ticketRef) updateTicketPage(frame);
    if (currentOffer && currentOffer.ticket === t.reference && t.assignee) clearOffer();
    if (isCustomerReplyToMe(frame)) {
      alertAgent(fmt(S.customerReply, {author: frame.message.author, ticket: t.reference}), frame.message.body_text,
                 "reply-" + frame.message.id, "/console/tickets/" + t.reference + "/");
    }
  }
  /* A customer wrote on one of the agent's tickets (chat lines arrive as chat frames: not counted twice);
     events replayed after a reconnect that are older than two minutes stay quiet. */
  function isCustomerReplyToMe(frame) {
    var m = frame.message;
    return Boolean(m && m.direction === "inbound" && m.channel !== "chat" && frame.ticket.assignee_id === CONSOLE.userId &&
                   Date.now() - new Date(m.created_at).getTime() < 120000);
  }

  /* The default view (every open ticket of the agent's queues, SLA order, unfiltered) follows events:
     rows come, move and go. Other views (mine, resolved, filtered…) keep their rows and update them. */
  function upsertRow(t) {
    var table = document.getElementById("queue"), body = table.querySelector("tbody");
    var live = table.hasAttribute("data-live");
    var row = body.querySelector('tr[data-ref="' + t.reference + '"]');
    if (live && WAITING.indexOf(t.status) < 0) { if (row) row.remove(); recount(); return; }
    if (!row && !live) return;
    if (!row) {
      row = document.createElement("tr");
      row.dataset.ref = t.reference; row.dataset.href = "/console/tickets/" + t.reference + "/";
      var pick = document.createElement("input");
      pick.type = "checkbox"; pick.name = "tickets"; pick.value = t.reference; pick.setAttribute("form", "bulk-form");
      pick.setAttribute("aria-label", fmt(S.select, {reference: t.reference}));
      var pickCell = document.createElement("td"); pickCell.className = "pick"; pickCell.appendChild(pick); row.appendChild(pickCell);
      var link = document.createElement("a");
      link.href = row.dataset.href; link.textContent = t.reference;
      var refCell = document.createElement("td"); refCell.className = "ref"; refCell.appendChild(link); row.appendChild(refCell);
      ["channel", "language", "subject", "status", "assignee", "age", "sla"].forEach(function (name) {
        row.appendChild(text("td", "", name));
      });
      var empty = body.querySelector("tr.empty");
      if (empty) empty.remove();
      body.appendChild(row);
      row.classList.add("fresh");
    }
    var cell = function (name) { return row.querySelector("td." + name); };
    cell("channel").textContent = S.channels[t.channel] || t.channel;
    cell("language").textContent = S.languages[t.language] || t.language;
    cell("subject").textContent = t.subject || S.noSubject;
    cell("status").textContent = S.statuses[t.status] || t.status; cell("assignee").textContent = t.assignee || "—";
    row.dataset.received = t.received_at; row.dataset.channel = t.channel; row.dataset.status = t.status;
    row.dataset.assigned = t.assignee ? "1" : "";
    if (t.live) row.dataset.live = ""; else delete row.dataset.live;
    cell("sla").dataset.sla = JSON.stringify(t.sla);
    row.dataset.due = nextDue(t.sla);
    if (live) { place(body, row); recount(); }
    tick();
  }

  /* The whole row opens its ticket; the reference stays a real link (keyboard, screen readers, new tab). */
  var queueTable = document.getElementById("queue");
  if (queueTable) {
    queueTable.addEventListener("click", function (event) {
      var row = event.target.closest("tbody tr[data-href]");
      if (!row || event.target.closest("a, input, button, label, select")) return;
      if (window.getSelection && String(window.getSelection())) return;   // selecting text is not a click
      location.href = row.dataset.href;
    });
    var all = document.getElementById("pick-all");
    if (all) all.onchange = function () {
      queueTable.querySelectorAll('tbody input[name="tickets"]').forEach(function (box) { box.checked = all.checked; });
    };
  }

  /* The queue is ordered as the server orders it: the nearest open SLA deadline first, work
     with no open deadline last, then by arrival. A row moves when its deadlines change. */
  function nearestOpen(targets) {      // set-aside targets (a caller who left for voicemail in time) are done
    var open = (targets || []).filter(function (x) { return !x.met_at && !x.not_applicable; });
    return open.sort(function (a, b) { return new Date(a.due_at) - new Date(b.due_at); })[0];
  }
  function nextDue(targets) { var target = nearestOpen(targets); return target ? target.due_at : ""; }
  function comesBefore(a, b) {
    var da = a.dataset.due ? new Date(a.dataset.due).getTime() : Infinity;
    var db = b.dataset.due ? new Date(b.dataset.due).getTime() : Infinity;
    if (da !== db) return da < db;
    return new Date(a.dataset.received || 0) < new Date(b.dataset.received || 0);
  }
  function place(body, row) {
    var next = Array.prototype.find.call(body.children, function (other) {
      return other !== row && comesBefore(row, other);
    });
    body.insertBefore(row, next || null);
  }

  /* A live count (data-live) names its channels (the channel registry) and counts their unassigned rows
     that are live now (data-live: a queued call, a chat); the async count takes every other row (a voicemail too). */
  function recount() {
    var rows = document.querySelectorAll("#queue tbody tr[data-ref]");
    document.querySelectorAll(".counts [data-channels]").forEach(function (count) {
      var wanted = count.dataset.channels.split(" "), live = count.hasAttribute("data-live");
      count.textContent = Array.prototype.filter.call(rows, function (row) {
        if (!live) return !row.hasAttribute("data-live");
        return row.hasAttribute("data-live") && wanted.indexOf(row.dataset.channel) !== -1 && !row.dataset.assigned;
      }).length;
    });
  }

  /* As apps/console/history.py says it on the page: which SLA target and how, which status move. */
  function eventDetail(frame) {
    var d = frame.data || {};
    if (frame.kind === "sla" && S.slaKinds[d.target]) {
      var outcome = S.slaOutcomes[d.event === "met" && d.late ? "late" : d.event];
      return outcome ? ": " + S.slaKinds[d.target] + ": " + outcome : "";
    }
    if (frame.kind === "status" && S.statuses[d.from] && S.statuses[d.to]) {
      return ": " + S.statuses[d.from] + " → " + S.statuses[d.to];
    }
    if (frame.kind === "chat" && d.event === "rated") {
      return ": " + S.chat.rated.replace("%(rating)s", S.chat.ratings[d.rating] || d.rating) +
        (d.comment ? " “" + d.comment + "”" : "");
    }
    if (frame.kind === "chat" && d.event === "ended" && S.chat[d.by]) {
      return ": " + S.chat[d.by].replace("%(agent)s", d.agent || "—").replace("%(minutes)s", d.idle_minutes || "?");
    }
    if (frame.kind === "merged" && S.merged && S.merged[d.event]) {
      return ": " + S.merged[d.event].replace("%(ticket)s", d.ticket || "—");
    }
    return "";
  }

  function updateTicketPage(frame) {
    var t = frame.ticket;
    document.getElementById("ticket-status").textContent = S.statuses[t.status] || t.status;
    document.getElementById("ticket-status").dataset.status = t.status;     // its badge colour (console.css)
    document.getElementById("ticket-assignee").textContent = t.assignee || "—";
    var list = document.getElementById("sla");
    list.innerHTML = "";
    t.sla.forEach(function (target) {
      var item = document.createElement("li");
      item.className = "sla"; item.dataset.sla = JSON.stringify([target]);
      item.appendChild(text("span", S.slaKinds[target.kind] || target.kind, "sla-kind"));
      item.appendChild(document.createTextNode(": "));
      item.appendChild(text("span", "", "sla-state"));
      list.appendChild(item);
    });
    if (frame.message && !document.querySelector('#thread li[data-id="' + frame.message.id + '"]')) {
      var m = frame.message, item = document.createElement("li");
      item.className = "msg " + m.direction; item.dataset.id = m.id;
      item.appendChild(text("div", (m.author || S.systemActors.system) + " · " + localTime(m.created_at), "meta"));
      item.appendChild(text("div", m.body_text, "body"));     // text only: never HTML from users
      document.getElementById("thread").appendChild(item);
    }
    var events = document.getElementById("events");
    events.appendChild(text("li", localTime(frame.at) + " · " + (S.eventKinds[frame.kind] || frame.kind) +
                            eventDetail(frame) + " · " +
                            ((frame.by_desk && S.systemActors[frame.actor]) || frame.actor || "")));
    tick();
  }

  /* The offer in the agent's words: the frame carries codes (chat, sv), this console's labels
     (in the agent's language, whatever the ticket's) name them: "via Chatt på Svenska". */
  function offerText(offer) {
    return fmt(S.offer, {channel: S.channels[offer.channel] || offer.channel,
                         language: S.languages[offer.language] || offer.language,
                         subject: offer.subject || S.noSubject});
  }
  function showOffer(offer) {
    if (!currentOffer || currentOffer.offer !== offer.offer) {
      attention();
      alertAgent(offerText(offer), "", "offer-" + offer.offer, null);
    }
    currentOffer = offer;
    var box = document.getElementById("offers");
    if (!box) return;
    box.innerHTML = "";
    var card = document.createElement("div"); card.className = "offer card";
    card.appendChild(text("span", offerText(offer), "offer-text"));
    var accept = text("button", S.accept + " (a)"); accept.onclick = acceptOffer;
    var decline = text("button", S.decline, "secondary");
    decline.onclick = function () { send({type: "decline", offer: offer.offer}); clearOffer(); };
    card.appendChild(accept); card.appendChild(decline); box.appendChild(card);
  }
  function acceptOffer() { if (currentOffer) send({type: "accept", offer: currentOffer.offer}); }
  function clearOffer() { currentOffer = null; var box = document.getElementById("offers"); if (box) box.innerHTML = ""; }

  function showViewers(frame) {
    var notice = document.getElementById("collision");
    if (!notice || frame.ticket !== ticketRef) return;
    var others = frame.agents.filter(function (name) { return name !== CONSOLE.me; });
    notice.hidden = others.length === 0;
    notice.textContent = fmt(S.alsoViewing, {agents: others.join(", ")});
  }
  function showError(detail) {
    var box = document.getElementById("offers");
    if (box) { box.innerHTML = ""; box.appendChild(text("p", detail, "error")); }
  }

  /* SLA countdown: green until the warning share, amber until the deadline, red after. */
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-sla]").forEach(function (el) {
      if (el.closest("#sla")) return;     // the ticket page's own box: countdowns (slaBox)
      var target = nearestOpen(JSON.parse(el.dataset.sla || "[]"));
      el.classList.remove("green", "amber", "red", "done");
      if (!target) { el.classList.add("done"); if (mode === "home") el.textContent = S.met; return; }
      var due = new Date(target.due_at).getTime(), warn = new Date(target.warn_at).getTime();
      var state = target.breached || now >= due ? "red" : now >= warn ? "amber" : "green";
      el.classList.add(state);
      if (mode === "home") el.textContent = state === "red" ? S.breached : remaining(due - now);
    });
    slaBox(now);
    document.querySelectorAll("#queue tbody tr").forEach(function (row) {
      if (row.dataset.received && !row.hasAttribute("data-done")) row.querySelector(".age").textContent =
        remaining(now - new Date(row.dataset.received).getTime());
    });
  }
  /* The ticket page's SLA box: each open target counts down every second from the due time the
     server gave ("0:42 left", "Overdue 1:05"); a closed one says in words how it ended. The
     countdown itself is silent for screen readers; they hear a target when its state changes
     (warning, overdue, met), politely. */
  var slaSpoken = {};
  function clock(ms, up) {
    var s = up ? Math.floor(ms / 1000) : Math.ceil(ms / 1000);
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    var pad = function (n) { return String(n).padStart(2, "0"); };
    var time = d || h ? h + ":" + pad(m) + ":" + pad(s % 60) : m + ":" + pad(s % 60);
    return d ? fmt(S.slaDays, {days: d, time: time}) : time;
  }
  function slaState(target, now) {
    if (target.not_applicable) return ["done", S.slaNotApplicable];
    if (target.met_at) return ["done", target.breached ? S.slaMetLate : S.slaMet];
    var due = Date.parse(target.due_at), warn = Date.parse(target.warn_at);
    if (now >= due) return ["red", fmt(S.slaOverdue, {time: clock(now - due, true)})];
    return [now >= warn ? "amber" : "green", fmt(S.slaLeft, {time: clock(due - now, false)})];
  }
  function slaBox(now) {
    var announce = document.getElementById("sla-announce"), said = [];
    document.querySelectorAll("#sla li.sla").forEach(function (el) {
      var target = JSON.parse(el.dataset.sla || "[]")[0];
      if (!target) return;
      var state = slaState(target, now), words = el.querySelector(".sla-state");
      el.classList.remove("green", "amber", "red", "done");
      el.classList.add(state[0]);
      if (words && words.textContent !== state[1]) words.textContent = state[1];
      if (slaSpoken[target.kind] && slaSpoken[target.kind] !== state[0]) {
        said.push(fmt(S.slaAnnounce, {target: S.slaKinds[target.kind] || target.kind, state: state[1]}));
      }
      slaSpoken[target.kind] = state[0];
    });
    if (announce && said.length) announce.textContent = said.join(". ");
  }
  function remaining(ms) {
    var s = Math.max(0, Math.round(ms / 1000));
    if (s < 3600) return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
    var h = Math.floor(s / 3600);
    return h < 48 ? h + "h " + Math.floor((s % 3600) / 60) + "m" : Math.floor(h / 24) + "d " + (h % 24) + "h";
  }

  document.addEventListener("keydown", function (event) {
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "textarea" || tag === "input" || tag === "select" || event.ctrlKey || event.metaKey) return;
    if (event.key === "a") acceptOffer();
    if (event.key === "r") { var reply = document.getElementById("reply-body"); if (reply) { reply.focus(); event.preventDefault(); } }
    if (event.key === "c") { var resolve = document.getElementById("resolve-form"); if (resolve) resolve.submit(); }
  });
  // "Use this triage" on a similar resolved ticket fills the triage form; the agent still saves it.
  document.querySelectorAll("button.copy-triage").forEach(function (button) {
    button.onclick = function () {
      var form = document.getElementById("triage-form");
      if (!form) return;
      form.elements.scope.value = button.dataset.scope;
      form.elements.extension.value = button.dataset.extension;
      if (button.dataset.category) form.elements.category.value = button.dataset.category;
      form.querySelector("button").focus();
    };
  });

  /* The ticket page's one composer. The chosen destination names the button; a line "to the
     visitor, live" (and its files) goes over the console socket through the chat panel (apps/chat),
     anything else is posted to the reply view. Enter sends a live line, as in any chat; for the
     other destinations it starts a new line. */
  var composer = document.getElementById("composer");
  if (composer) setUpComposer(composer);
  function setUpComposer(form) {
    var body = document.getElementById("reply-body"), button = document.getElementById("send-reply");
    var files = document.getElementById("reply-files");
    function chosen() { return form.querySelector("input[name=destination]:checked"); }
    function live() {
      var choice = chosen();
      return Boolean(choice && choice.value === "live" && window.consoleChat && window.consoleChat.sendLine);
    }
    function named() {
      var choice = chosen();
      form.dataset.destination = choice ? choice.value : "";
      if (choice) button.textContent = choice.dataset.send;
    }
    var chosenFiles = document.getElementById("reply-files-chosen");
    function listFiles() {
      if (chosenFiles) chosenFiles.textContent = Array.prototype.map.call(files.files, function (f) { return f.name; }).join(", ");
    }
    form.addEventListener("change", function (event) {
      if (event.target.name === "destination") named();
      if (event.target === files) listFiles();
    });
    form.addEventListener("submit", function (event) {
      if (!live()) return;
      event.preventDefault();
      window.consoleChat.sendLine(body.value);
      Array.prototype.forEach.call(files.files, function (file) { window.consoleChat.sendFile(file); });
      body.value = ""; files.value = ""; listFiles(); body.focus();
    });
    CONSOLE.liveEnded = function () {        // the chat panel: the visitor is gone
      var option = document.getElementById("destination-live");
      if (!option) return;
      var wasChosen = option.checked;
      option.closest("label").remove();
      if (wasChosen) { var next = form.querySelector("input[name=destination]"); if (next) next.checked = true; }
      named();
    };
    setUpCanned(body);     // first: while its list is open, Enter chooses a response and sends nothing
    body.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing && live()) {
        event.preventDefault(); form.requestSubmit();
      }
    });
    body.addEventListener("input", function () { if (live()) window.consoleChat.typing(); });
    named();
  }

  /* "/" at the start of the composer opens the canned responses in the ticket's language; the
     words after it narrow them (title or text). Arrows move, Enter inserts, Esc closes. */
  function setUpCanned(body) {
    var source = document.getElementById("canned-data");
    var responses = source ? JSON.parse(source.textContent) : [];
    var list = document.getElementById("canned-list"), status = document.getElementById("canned-status");
    var shown = [], active = -1;
    if (!responses.length) return;
    function query() { var found = /^\/([^\n]*)$/.exec(body.value); return found ? found[1].trim().toLowerCase() : null; }
    function close() {
      list.hidden = true; list.textContent = ""; shown = []; active = -1;
      body.removeAttribute("aria-activedescendant");
    }
    function highlight(index) {
      active = index;
      Array.prototype.forEach.call(list.children, function (option, i) {
        option.setAttribute("aria-selected", i === index ? "true" : "false");
      });
      if (index < 0) { body.removeAttribute("aria-activedescendant"); return; }
      body.setAttribute("aria-activedescendant", "canned-" + index);
      list.children[index].scrollIntoView({block: "nearest"});
    }
    function choose(index) {
      body.value = shown[index].body;
      close(); body.focus(); body.setSelectionRange(body.value.length, body.value.length);
    }
    function update() {
      var words = query();
      if (words === null) { if (!list.hidden) close(); return; }
      shown = responses.filter(function (r) { return (r.title + "\n" + r.body).toLowerCase().indexOf(words) !== -1; });
      list.textContent = "";
      shown.forEach(function (r, i) {
        var option = document.createElement("li");
        option.id = "canned-" + i; option.setAttribute("role", "option");
        option.appendChild(text("span", r.title, "canned-title"));
        option.appendChild(text("span", r.body, "canned-text"));
        option.addEventListener("mousedown", function (event) { event.preventDefault(); choose(i); });
        list.appendChild(option);
      });
      list.hidden = false;
      status.textContent = fmt(S.cannedFound, {count: shown.length});
      highlight(shown.length ? 0 : -1);
    }
    body.addEventListener("input", update);
    body.addEventListener("blur", function () { if (!list.hidden) close(); });
    body.addEventListener("keydown", function (event) {
      if (list.hidden) return;
      var keys = {ArrowDown: 1, ArrowUp: -1};
      if (keys[event.key] && shown.length) {
        event.preventDefault();
        highlight((active + keys[event.key] + shown.length) % shown.length);
      } else if (event.key === "Enter") {
        event.preventDefault(); event.stopImmediatePropagation();
        if (active >= 0) choose(active);
      } else if (event.key === "Escape") {
        event.preventDefault(); event.stopImmediatePropagation(); close();
      }
    });
  }
  window.addEventListener("beforeunload", function () { if (ticketRef) send({type: "viewing", ticket: ticketRef, leaving: true}); });

  setInterval(tick, 1000); tick(); connect();
})();
