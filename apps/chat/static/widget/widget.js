/* Support desk chat widget. Embed with one tag:
 *   <script src="https://desk.example.com/static/widget/widget.js" data-entry-point="widget-europe" async></script>
 * Vanilla JS in a shadow root (the host page's CSS cannot reach it). Protocol: docs/chat-protocol.md.
 * Zero loss: every message has a client id and, once stored, a sequence number; the conversation id,
 * token, last seen number and unsent messages live in sessionStorage, so after a drop or a reload the
 * widget reconnects with ?after=<last seen>, the server replays what it missed, and unsent messages are
 * sent again (the server stores a client id once). Text is only ever inserted as text. */
(function () {
  "use strict";
  if (window.__supportDeskChat) return;
  window.__supportDeskChat = true;

  var script = document.currentScript || document.querySelector('script[src*="widget/widget.js"]');
  var BASE = new URL(script.src, location.href).origin;
  var ENTRY = script.getAttribute("data-entry-point") || "";
  var KEY = "supportdesk.chat." + ENTRY;
  var CHAT_LANGS = ["en", "sv", "es", "de"];
  var NAMES = {en: "English", sv: "Svenska", es: "Español", de: "Deutsch", "zh-hans": "简体中文", ja: "日本語"};
  var T = {
    en: {title: "Chat with support", open: "Chat with us", close: "Close chat", language: "Language",
      name: "Your name", email: "Email", extension: "Product or extension", core: "The core product",
      start: "Start chat", connecting: "Connecting…", message: "Message", send: "Send", attach: "Attach a file",
      transcript: "Email me the transcript", transcriptSent: "The transcript is on its way to %(email)s.",
      end: "End chat", ended: "The chat has ended. Thank you!", newChat: "Start a new chat",
      waiting: "Waiting for an agent…", queue: "You are number %(position)s in the queue.",
      wait: "Expected wait: about %(minutes)s min.", waitUnknown: "We cannot estimate the wait right now.",
      joined: "%(name)s joined the chat.", typing: "%(name)s is typing…", agent: "Agent", you: "You",
      sending: "Sending…", sent: "Sent", read: "Read", failed: "Not sent",
      reconnecting: "Connection lost. Reconnecting…", offlineTitle: "Leave us a message",
      checking: "Checking whether chat is open…", closed: "Live chat is closed now.",
      nextOpening: "It opens again on %(day)s at %(time)s (your time).", noAgents: "No agent is free to chat in your language right now.",
      offlineIntro: "Leave a message and we will answer by email.", question: "Your question",
      sendMessage: "Send message", thanks: "Thank you! We received your request %(reference)s and will answer by email.",
      notOffered: "", tooLarge: "The file is too large (at most %(mb)s MB).", badType: "This kind of file cannot be sent.",
      expired: "This chat has expired.", error: "Something went wrong. Please try again.",
      rateLimited: "You are sending messages too fast; it will be sent in a moment.", download: "Download",
      rate: "How was this chat?", good: "Good", bad: "Bad", rateComment: "Anything to add? (optional)", rated: "Thank you for your rating!",
      offerEmail: "Nobody is free to answer yet. Would you rather have our answer by email?", offerEmailButton: "Answer me by email instead", movedToEmail: "Done: we will answer your request %(reference)s by email, at %(email)s. You can close this window."},
    sv: {title: "Chatta med supporten", open: "Chatta med oss", close: "Stäng chatten", language: "Språk",
      name: "Ditt namn", email: "E-post", extension: "Produkt eller tillägg", core: "Kärnprodukten",
      start: "Starta chatten", connecting: "Ansluter…", message: "Meddelande", send: "Skicka", attach: "Bifoga en fil",
      transcript: "Mejla mig chattloggen", transcriptSent: "Chattloggen skickas till %(email)s.",
      end: "Avsluta chatten", ended: "Chatten är avslutad. Tack!", newChat: "Starta en ny chatt",
      waiting: "Väntar på en handläggare…", queue: "Du är nummer %(position)s i kön.",
      wait: "Beräknad väntetid: cirka %(minutes)s min.", waitUnknown: "Vi kan inte uppskatta väntetiden just nu.",
      joined: "%(name)s har anslutit till chatten.", typing: "%(name)s skriver…", agent: "Handläggare", you: "Du",
      sending: "Skickar…", sent: "Skickat", read: "Läst", failed: "Inte skickat",
      reconnecting: "Anslutningen bröts. Ansluter igen…", offlineTitle: "Lämna ett meddelande",
      checking: "Kontrollerar om chatten är öppen…", closed: "Chatten är stängd nu.",
      nextOpening: "Den öppnar igen på %(day)s kl. %(time)s (din tid).", noAgents: "Ingen handläggare kan chatta på ditt språk just nu.",
      offlineIntro: "Lämna ett meddelande så svarar vi via e-post.", question: "Din fråga",
      sendMessage: "Skicka meddelandet", thanks: "Tack! Vi har tagit emot ärende %(reference)s och svarar via e-post.",
      notOffered: "", tooLarge: "Filen är för stor (högst %(mb)s MB).", badType: "Den här filtypen kan inte skickas.",
      expired: "Chatten har gått ut.", error: "Något gick fel. Försök igen.",
      rateLimited: "Du skickar för snabbt; meddelandet skickas strax.", download: "Ladda ner",
      rate: "Hur var chatten?", good: "Bra", bad: "Dålig", rateComment: "Något att tillägga? (valfritt)", rated: "Tack för ditt betyg!",
      offerEmail: "Ingen är ledig att svara än. Vill du hellre få vårt svar via e-post?", offerEmailButton: "Svara mig via e-post i stället", movedToEmail: "Klart: vi svarar på ärende %(reference)s via e-post till %(email)s. Du kan stänga fönstret."},
    es: {title: "Chat con soporte", open: "Hable con nosotros", close: "Cerrar el chat", language: "Idioma",
      name: "Su nombre", email: "Correo electrónico", extension: "Producto o extensión", core: "El producto principal",
      start: "Iniciar chat", connecting: "Conectando…", message: "Mensaje", send: "Enviar", attach: "Adjuntar un archivo",
      transcript: "Enviarme la transcripción", transcriptSent: "La transcripción se enviará a %(email)s.",
      end: "Terminar el chat", ended: "El chat ha terminado. ¡Gracias!", newChat: "Iniciar un chat nuevo",
      waiting: "Esperando a un agente…", queue: "Es el número %(position)s en la cola.",
      wait: "Espera estimada: unos %(minutes)s min.", waitUnknown: "Ahora no podemos estimar la espera.",
      joined: "%(name)s se ha unido al chat.", typing: "%(name)s está escribiendo…", agent: "Agente", you: "Usted",
      sending: "Enviando…", sent: "Enviado", read: "Leído", failed: "No enviado",
      reconnecting: "Se perdió la conexión. Reconectando…", offlineTitle: "Déjenos un mensaje",
      checking: "Comprobando si el chat está abierto…", closed: "El chat está cerrado ahora.",
      nextOpening: "Vuelve a abrir el %(day)s a las %(time)s (su hora).", noAgents: "Ahora no hay agentes libres para chatear en su idioma.",
      offlineIntro: "Deje un mensaje y le responderemos por correo.", question: "Su pregunta",
      sendMessage: "Enviar mensaje", thanks: "¡Gracias! Hemos recibido su solicitud %(reference)s y le responderemos por correo.",
      notOffered: "", tooLarge: "El archivo es demasiado grande (máximo %(mb)s MB).", badType: "Este tipo de archivo no se puede enviar.",
      expired: "Este chat ha caducado.", error: "Algo salió mal. Inténtelo de nuevo.",
      rateLimited: "Está enviando demasiado rápido; se enviará en un momento.", download: "Descargar",
      rate: "¿Qué tal fue este chat?", good: "Bien", bad: "Mal", rateComment: "¿Algo que añadir? (opcional)", rated: "¡Gracias por su valoración!",
      offerEmail: "Todavía no hay nadie libre para responder. ¿Prefiere recibir nuestra respuesta por correo?", offerEmailButton: "Prefiero la respuesta por correo", movedToEmail: "Hecho: responderemos a su solicitud %(reference)s por correo, a %(email)s. Puede cerrar esta ventana."},
    de: {title: "Chat mit dem Support", open: "Chatten Sie mit uns", close: "Chat schließen", language: "Sprache",
      name: "Ihr Name", email: "E-Mail", extension: "Produkt oder Erweiterung", core: "Das Kernprodukt",
      start: "Chat starten", connecting: "Verbinde…", message: "Nachricht", send: "Senden", attach: "Datei anhängen",
      transcript: "Verlauf per E-Mail senden", transcriptSent: "Der Verlauf wird an %(email)s gesendet.",
      end: "Chat beenden", ended: "Der Chat ist beendet. Vielen Dank!", newChat: "Neuen Chat starten",
      waiting: "Warten auf einen Mitarbeiter…", queue: "Sie sind Nummer %(position)s in der Warteschlange.",
      wait: "Voraussichtliche Wartezeit: etwa %(minutes)s Min.", waitUnknown: "Die Wartezeit lässt sich gerade nicht schätzen.",
      joined: "%(name)s ist dem Chat beigetreten.", typing: "%(name)s schreibt…", agent: "Mitarbeiter", you: "Sie",
      sending: "Wird gesendet…", sent: "Gesendet", read: "Gelesen", failed: "Nicht gesendet",
      reconnecting: "Verbindung unterbrochen. Verbinde erneut…", offlineTitle: "Hinterlassen Sie eine Nachricht",
      checking: "Wir prüfen, ob der Chat geöffnet ist…", closed: "Der Chat ist gerade geschlossen.",
      nextOpening: "Er öffnet wieder am %(day)s um %(time)s (Ihre Zeit).", noAgents: "Gerade ist kein Mitarbeiter für Ihre Sprache frei.",
      offlineIntro: "Hinterlassen Sie eine Nachricht, wir antworten per E-Mail.", question: "Ihre Frage",
      sendMessage: "Nachricht senden", thanks: "Danke! Wir haben Ihre Anfrage %(reference)s erhalten und antworten per E-Mail.",
      notOffered: "", tooLarge: "Die Datei ist zu groß (höchstens %(mb)s MB).", badType: "Diese Dateiart kann nicht gesendet werden.",
      expired: "Dieser Chat ist abgelaufen.", error: "Etwas ist schiefgegangen. Bitte versuchen Sie es erneut.",
      rateLimited: "Sie senden zu schnell; die Nachricht wird gleich gesendet.", download: "Herunterladen",
      rate: "Wie war dieser Chat?", good: "Gut", bad: "Schlecht", rateComment: "Möchten Sie etwas ergänzen? (optional)", rated: "Vielen Dank für Ihre Bewertung!",
      offerEmail: "Noch ist niemand frei. Möchten Sie unsere Antwort lieber per E-Mail erhalten?", offerEmailButton: "Lieber per E-Mail antworten", movedToEmail: "Erledigt: Wir beantworten Ihre Anfrage %(reference)s per E-Mail an %(email)s. Sie können dieses Fenster schließen."},
    "zh-hans": {title: "联系客服", open: "联系我们", close: "关闭", language: "语言",
      name: "您的姓名", email: "电子邮箱", extension: "产品或扩展", core: "核心产品",
      start: "开始聊天", connecting: "正在连接…", message: "消息", send: "发送", attach: "附加文件",
      transcript: "", transcriptSent: "", end: "", ended: "", newChat: "", waiting: "", queue: "", wait: "",
      waitUnknown: "", joined: "", typing: "", agent: "客服", you: "您", sending: "正在发送…", sent: "已发送",
      read: "已读", failed: "未发送", reconnecting: "连接中断，正在重新连接…", offlineTitle: "通过电子邮件联系我们",
      checking: "正在查询在线聊天是否开放…", closed: "在线聊天现在已关闭。",
      nextOpening: "将于%(day)s %(time)s（您当地的时间）重新开放。", noAgents: "目前没有可以用您的语言聊天的客服。",
      offlineIntro: "请留下您的问题，我们会通过电子邮件用中文回复您。",
      question: "您的问题", sendMessage: "发送", thanks: "谢谢！我们已收到您的请求 %(reference)s，将通过电子邮件回复您。",
      notOffered: "很抱歉，在线聊天不提供中文服务。您可以通过电子邮件联系我们，我们会用中文回复。",
      tooLarge: "文件太大（最大 %(mb)s MB）。", badType: "无法发送此类文件。", expired: "此会话已过期。",
      error: "出现错误，请重试。", rateLimited: "", download: "下载"},
    ja: {title: "サポートへのお問い合わせ", open: "お問い合わせ", close: "閉じる", language: "言語",
      name: "お名前", email: "メールアドレス", extension: "製品または拡張機能", core: "コア製品",
      start: "チャットを開始", connecting: "接続中…", message: "メッセージ", send: "送信", attach: "ファイルを添付",
      transcript: "", transcriptSent: "", end: "", ended: "", newChat: "", waiting: "", queue: "", wait: "",
      waitUnknown: "", joined: "", typing: "", agent: "担当者", you: "あなた", sending: "送信中…", sent: "送信済み",
      read: "既読", failed: "未送信", reconnecting: "接続が切れました。再接続しています…", offlineTitle: "メールでのお問い合わせ",
      checking: "チャットが利用できるか確認しています…", closed: "現在チャットは受付時間外です。",
      nextOpening: "次回の受付開始は%(day)s %(time)s（お客様の現地時間）です。",
      noAgents: "現在、ご利用の言語でチャットに対応できる担当者がいません。", offlineIntro: "ご質問をお書きください。日本語でメールにてご回答します。",
      question: "ご質問", sendMessage: "送信", thanks: "ありがとうございます。お問い合わせ %(reference)s を受け付けました。メールでご回答します。",
      notOffered: "申し訳ありませんが、チャットは日本語に対応していません。メールでお問い合わせいただければ、日本語でご回答します。",
      tooLarge: "ファイルが大きすぎます（最大 %(mb)s MB）。", badType: "この種類のファイルは送信できません。",
      expired: "このチャットは期限切れです。", error: "エラーが発生しました。もう一度お試しください。", rateLimited: "",
      download: "ダウンロード"}
  };

  /* ---------- state (survives reloads and drops within the browser tab) ---------- */
  var state = load() || {};
  var lang = state.lang || script.getAttribute("data-language") || browserLanguage();
  var config = {extensions: [], limits: {attachment_bytes: 10485760, attachment_types: []}};
  var socket = null, retry = 0, pingTimer = null, pongDeadline = null, typingSent = 0, typingTimer = null;
  var readSent = 0, resumeAsked = 0, known = {};   // seq -> true for everything rendered

  function load() { try { return JSON.parse(sessionStorage.getItem(KEY)); } catch (e) { return null; } }
  function save() { try { sessionStorage.setItem(KEY, JSON.stringify(state)); } catch (e) { /* private mode */ } }
  function s(key, values) {
    var text = (T[lang] && T[lang][key]) || T.en[key] || key;
    return text.replace(/%\((\w+)\)s/g, function (_, k) { return values && values[k] != null ? values[k] : ""; });
  }
  function browserLanguage() {
    var tags = navigator.languages || [navigator.language || "en"];
    for (var i = 0; i < tags.length; i++) {
      var tag = String(tags[i]).toLowerCase();
      if (tag.indexOf("zh") === 0) return "zh-hans";
      var primary = tag.split("-")[0];
      if (NAMES[primary]) return primary;
    }
    return "en";
  }
  function newId() {
    return (window.crypto && crypto.randomUUID) ? crypto.randomUUID() :
      Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }
  function api(path, options) {
    options = options || {};
    options.headers = options.headers || {};
    if (state.token) options.headers["X-Chat-Token"] = state.token;
    // The desk answers (and words its errors) in the widget's language, not the browser's.
    options.headers["Accept-Language"] = lang;
    return fetch(BASE + path, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        body.__status = response.status; return body;
      });
    });
  }
  function postJSON(path, data) {
    return api(path, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(data)});
  }

  /* ---------- DOM helpers: text only, never innerHTML from data ---------- */
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") node.textContent = attrs[name];
      else if (name.indexOf("on") === 0) node.addEventListener(name.slice(2), attrs[name]);
      else if (attrs[name] !== false && attrs[name] != null) node.setAttribute(name, attrs[name] === true ? "" : attrs[name]);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }
  function paperclip() {
    /* Drawn, not the 📎 emoji: a page without an emoji font showed an empty box. */
    var ns = "http://www.w3.org/2000/svg", svg = document.createElementNS(ns, "svg"), path = document.createElementNS(ns, "path");
    svg.setAttribute("viewBox", "0 0 16 20"); svg.setAttribute("width", "12"); svg.setAttribute("height", "15");
    svg.setAttribute("aria-hidden", "true"); svg.setAttribute("class", "clip");
    path.setAttribute("d", "M11 6v8a3 3 0 0 1-6 0V4.5a2 2 0 0 1 4 0V13");
    path.setAttribute("fill", "none"); path.setAttribute("stroke", "currentColor"); path.setAttribute("stroke-width", "1.6");
    path.setAttribute("stroke-linecap", "round");
    svg.appendChild(path);
    return svg;
  }
  var URL_RE = /\bhttps?:\/\/[^\s<>"'`]+[^\s<>"'`.,;:!?)\]]/gi;
  function richText(body) {
    /* Links become anchors only for http(s) URLs, opened without access to this page. */
    var fragment = document.createDocumentFragment(), last = 0, match;
    URL_RE.lastIndex = 0;
    while ((match = URL_RE.exec(body))) {
      fragment.appendChild(document.createTextNode(body.slice(last, match.index)));
      var href = null;
      try { var url = new URL(match[0]); if (url.protocol === "http:" || url.protocol === "https:") href = url.href; } catch (e) { href = null; }
      fragment.appendChild(href ? el("a", {href: href, target: "_blank", rel: "noopener noreferrer nofollow ugc", text: match[0]})
        : document.createTextNode(match[0]));
      last = match.index + match[0].length;
    }
    fragment.appendChild(document.createTextNode(body.slice(last)));
    return fragment;
  }

  /* ---------- shell ---------- */
  var host = el("div", {id: "supportdesk-chat"});
  var root = host.attachShadow({mode: "open"});
  var style = el("style", {text: CSS()});
  // Named from the start: a button without text, even until the config arrives, is unnamed to a screen reader.
  var launcher = el("button", {class: "launcher", "aria-expanded": "false", "aria-controls": "sd-panel", onclick: toggle,
                               text: s("open")});
  var panel = el("section", {id: "sd-panel", class: "panel", role: "dialog", "aria-labelledby": "sd-title", hidden: true});
  var status = el("p", {class: "status", role: "status", "aria-live": "polite"});
  root.appendChild(style); root.appendChild(launcher); root.appendChild(panel);

  function toggle() { setOpen(panel.hidden); }
  function setOpen(open) {
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    state.open = open; save();
    if (open && !state.conversation && offered !== "sent") offer();
    if (open) { focusFirst(); sendRead(); }
    else launcher.focus();
  }
  panel.addEventListener("keydown", function (event) { if (event.key === "Escape") setOpen(false); });

  function focusFirst() {
    // The first field of the form shown (the composer in a chat), not the header's close button.
    var first = panel.querySelector("form textarea, form input, form select") || panel.querySelector("button");
    if (first) first.focus();
  }
  function frame(bodyNodes) {
    // A keyboard user inside the panel keeps the focus in it when its content is replaced.
    var hadFocus = panel.contains(root.activeElement);
    panel.textContent = "";
    panel.setAttribute("lang", lang);
    panel.appendChild(el("header", {}, [
      el("h2", {id: "sd-title", text: s("title")}),
      el("button", {class: "x", "aria-label": s("close"), text: "×", onclick: function () { setOpen(false); }})]));
    panel.appendChild(status);
    bodyNodes.forEach(function (node) { panel.appendChild(node); });
    launcher.textContent = s("open");
    if (hadFocus) focusFirst();
  }
  function setStatus(text) { status.textContent = text || ""; }

  function field(label, input) { return el("label", {}, [el("span", {text: label}), input]); }
  function languageSelect(onchange) {
    var select = el("select", {name: "language", onchange: onchange});
    Object.keys(NAMES).forEach(function (code) {
      select.appendChild(el("option", {value: code, lang: code, text: NAMES[code], selected: code === lang}));
    });
    return select;
  }
  function extensionSelect(chosen) {
    var select = el("select", {name: "extension"}, [el("option", {value: "", text: s("core")})]);
    config.extensions.forEach(function (x) {
      select.appendChild(el("option", {value: x.slug, text: x.name, selected: x.slug === chosen}));
    });
    return select;
  }
  function changeLanguage(event) { lang = event.target.value; state.lang = lang; save(); offer(); }

  /* ---------- what the desk offers before a chat ---------- */
  // The form on screen before a chat: "chat", or why the email form is shown (with the language and the
  // next opening), "sent" once a message was left. An answer like the one on screen leaves the form alone.
  var offered = null, asked = 0;
  function typed() {
    /* What the visitor typed into the form on screen, carried over when another form replaces it. */
    function value(name) { var node = panel.querySelector('[name="' + name + '"]'); return node ? node.value : ""; }
    return {name: value("name"), email: value("email"), extension: value("extension"), message: value("message")};
  }
  function offer(details) {
    /* Ask the desk what it offers before the visitor types anything: the pre-chat form when chat is
       open, else the offline form with the reason (closed: when it opens, in the visitor's zone). */
    details = details || typed();
    var question = ++asked;
    if (CHAT_LANGS.indexOf(lang) < 0) return showAnswer({mode: "email", reason: "language"}, details);
    if (!offered) frame([el("p", {class: "checking", id: "sd-checking", text: s("checking")})]);
    var q = "?language=" + encodeURIComponent(lang) + "&entry_point=" + encodeURIComponent(ENTRY);
    api("/api/chat/availability" + q).then(function (answer) {
      if (question !== asked || state.conversation) return;       // a newer question, or a chat meanwhile
      // Unknown (an error): the pre-chat form, whose Start asks again.
      showAnswer(answer.__status === 200 ? answer : {mode: "chat"}, details);
    }).catch(function () { if (question === asked && !state.conversation) showAnswer({mode: "chat"}, details); });
  }
  function showAnswer(answer, details) {
    var reason = answer.mode === "chat" ? "chat" : answer.mode === "email" ? "language" : answer.reason;
    var key = [reason, lang, answer.next_opening || ""].join(" ");
    if (key === offered) return;
    if (reason === "chat") showPrechat(details); else showForm(reason, answer, details);
    offered = key;
  }

  /* ---------- pre-chat ---------- */
  function showPrechat(details) {
    details = details || {};
    var name = el("input", {name: "name", required: true, autocomplete: "name", maxlength: "200", value: details.name || ""});
    var email = el("input", {name: "email", type: "email", required: true, autocomplete: "email", value: details.email || ""});
    var extension = extensionSelect(details.extension);
    var form = el("form", {class: "stack", id: "sd-prechat"}, [
      field(s("language"), languageSelect(changeLanguage)),
      field(s("name"), name), field(s("email"), email), field(s("extension"), extension),
      el("button", {type: "submit", class: "primary", text: s("start")})]);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      start({language: lang, name: name.value, email: email.value, extension: extension.value});
    });
    frame([form]);
  }

  function start(details) {
    /* Chat may have closed (or its agents left) since the panel opened: the refusal lands on the
       offline form, with what the visitor typed. */
    setStatus(s("connecting"));
    var q = "?language=" + encodeURIComponent(details.language) + "&entry_point=" + encodeURIComponent(ENTRY);
    asked++;      // an answer to an older question must not replace what this one shows
    api("/api/chat/availability" + q).then(function (answer) {
      if (answer.__status === 200 && answer.mode !== "chat") return showAnswer(answer, details);
      return postJSON("/api/chat/conversations", {language: details.language, name: details.name, email: details.email,
        extension: details.extension, page_url: location.href, entry_point: ENTRY, time_zone: browserZone()}).then(function (reply) {
        if (reply.__status === 409) return showAnswer({mode: reply.mode, reason: reply.code, next_opening: reply.next_opening,
                                                       checked_at: reply.checked_at}, details);
        if (reply.__status !== 201) return setStatus(reply.detail || s("error"));
        state = {lang: lang, open: true, conversation: reply.conversation, token: reply.token, last: 0,
                 name: details.name, email: details.email, reference: reply.ticket, outbox: [], messages: [],
                 agent: null, ended: false};
        save(); showChat(); connect();
      });
    }).catch(function () { setStatus(s("error")); });
  }

  // While the page is in a background tab, the agent's new lines (and the agent joining) count
  // in its title, "(2) …", until the visitor comes back; data-title-alerts="off" leaves the title alone.
  var TITLE_ALERTS = script.getAttribute("data-title-alerts") !== "off", pageTitle = null, unseen = 0;
  function attention() {
    if (!TITLE_ALERTS || !document.hidden) return;
    if (pageTitle === null) pageTitle = document.title;
    unseen++; document.title = "(" + unseen + ") " + pageTitle;
  }
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && pageTitle !== null) { document.title = pageTitle; pageTitle = null; unseen = 0; }
  });

  function browserZone() {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { return ""; }
  }
  function dateLocale() {
    /* The visitor's own variant of the widget's language (en-GB writes "Monday 7 December"). */
    if (lang === "zh-hans") return "zh-CN";
    var tags = navigator.languages || [navigator.language || ""];
    for (var i = 0; i < tags.length; i++) {
      if (String(tags[i]).toLowerCase().split("-")[0] === lang) return tags[i];
    }
    return lang;
  }
  function opening(answer) {
    /* When chat opens again, in the browser's zone: the weekday within the next six days, else the date too.
       "Now" is the desk's clock (checked_at), not the browser's, which may be wrong. */
    var at = new Date(answer.next_opening), now = answer.checked_at ? new Date(answer.checked_at) : new Date();
    if (isNaN(at.getTime())) return "";
    var locale = dateLocale(), soon = at.getTime() - now.getTime() < 6 * 86400000;
    var day = new Intl.DateTimeFormat(locale, soon ? {weekday: "long"} : {weekday: "long", day: "numeric", month: "long"});
    // A 24-hour clock writes 07:00, a 12-hour one 7:00 AM.
    var hour12 = new Intl.DateTimeFormat(locale, {hour: "numeric"}).resolvedOptions().hour12;
    var time = new Intl.DateTimeFormat(locale, {hour: hour12 ? "numeric" : "2-digit", minute: "2-digit"});
    return s("nextOpening", {day: day.format(at), time: time.format(at)});
  }

  /* ---------- offline form and email form (zh-hans, ja) ---------- */
  function showForm(reason, answer, details) {
    details = details || {};
    var intro = [];
    if (reason === "language") intro.push(el("p", {class: "notice", text: s("notOffered")}));
    if (reason === "closed") {
      var when = answer && answer.next_opening ? opening(answer) : "";
      intro.push(el("p", {class: "notice", id: "sd-closed", text: when ? s("closed") + " " + when : s("closed")}));
    }
    if (reason === "no_agents") intro.push(el("p", {class: "notice", text: s("noAgents")}));
    intro.push(el("p", {text: s("offlineIntro")}));
    var name = el("input", {name: "name", required: true, autocomplete: "name", value: details.name || ""});
    var email = el("input", {name: "email", type: "email", required: true, autocomplete: "email", value: details.email || ""});
    var extension = extensionSelect(details.extension);
    var question = el("textarea", {name: "message", required: true, rows: "4", maxlength: "20000", text: details.message || ""});
    var requestId = newId();
    var form = el("form", {class: "stack", id: "sd-email-form"}, intro.concat([
      field(s("language"), languageSelect(changeLanguage)),
      field(s("name"), name), field(s("email"), email), field(s("extension"), extension), field(s("question"), question),
      el("button", {type: "submit", class: "primary", text: s("sendMessage")})]));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      postJSON("/api/chat/offline", {language: lang, name: name.value, email: email.value, extension: extension.value,
        message: question.value, page_url: location.href, entry_point: ENTRY, request_id: requestId}).then(function (reply) {
        if (reply.__status !== 201) return setStatus(reply.detail || s("error"));
        offered = "sent";
        frame([el("p", {class: "thanks", id: "sd-thanks", text: s("thanks", {reference: reply.reference})})]);
      }).catch(function () { setStatus(s("error")); });
    });
    frame([form]);
    setStatus("");
  }

  /* ---------- the chat ---------- */
  var log, typingLine, queueLine, agentLine, composer, input, emailOffer;
  function showChat() {
    // A list that is announced as it grows (role="log" on the list itself would hide its items' list semantics).
    log = el("ol", {class: "log", "aria-live": "polite", "aria-relevant": "additions", "aria-label": s("title")});
    agentLine = el("p", {class: "agent"});
    queueLine = el("p", {class: "queue"});
    // While nobody has joined: after CHAT_OFFER_EMAIL_AFTER_SECONDS (or at once when the wait is unknown)
    // the desk says so in its state frames, and the visitor may switch to an answer by email.
    emailOffer = el("div", {class: "offer", id: "sd-email-offer", hidden: true}, [
      el("p", {text: s("offerEmail")}),
      el("button", {type: "button", class: "primary", id: "sd-email-instead", text: s("offerEmailButton"),
        onclick: function () { send({type: "email_instead"}); }})]);
    typingLine = el("p", {class: "typing", "aria-live": "polite"});
    input = el("textarea", {name: "message", rows: "2", "aria-label": s("message"), maxlength: "4000",
      oninput: sendTyping, onkeydown: function (event) {
        if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); submit(); }
      }});
    // The browser's own file button speaks the browser's language ("Choose File"): ours speaks the visitor's.
    var file = el("input", {type: "file", class: "file-input", id: "sd-file", onchange: function () { attach(file); }});
    var pick = el("label", {class: "attach", for: "sd-file"}, [paperclip(), document.createTextNode(s("attach"))]);
    composer = el("form", {class: "composer", id: "sd-composer"}, [input,
      el("button", {type: "submit", class: "primary", text: s("send")}), file, pick]);
    composer.addEventListener("submit", function (event) { event.preventDefault(); submit(); });
    var actions = el("div", {class: "actions"}, [
      el("button", {type: "button", class: "link", id: "sd-transcript", text: s("transcript"),
        onclick: function () { send({type: "transcript"}); }}),
      el("button", {type: "button", class: "link", id: "sd-end", text: s("end"),
        onclick: function () { send({type: "end"}); }})]);
    frame([agentLine, queueLine, emailOffer, log, typingLine, composer, actions]);
    known = {};
    (state.messages || []).forEach(render);
    (state.outbox || []).forEach(function (m) { render({client_id: m.client_id, body: m.body, from: "visitor", pending: true}); });
    showAgent(); if (state.ended) showEnded();
  }

  function showAgent() {
    if (!agentLine) return;
    agentLine.textContent = state.agent ? state.agent : s("waiting");
    if (state.agent) { queueLine.textContent = ""; emailOffer.hidden = true; }
  }
  function showQueue(queue) {
    if (!queueLine || !queue || state.agent) return;
    var minutes = queue.expected_wait_seconds == null ? null : Math.max(1, Math.round(queue.expected_wait_seconds / 60));
    queueLine.textContent = s("queue", {position: queue.position}) + " " +
      (minutes == null ? s("waitUnknown") : s("wait", {minutes: minutes}));
    emailOffer.hidden = !queue.offer_email || !!state.ended;
  }
  function showEnded() {
    /* Nothing left to type into: the composer, the end button and the email offer go; a line still
       waiting to be sent can no longer be sent. A chat moved to email has nothing to rate. */
    if (composer) composer.hidden = true;
    if (emailOffer) emailOffer.hidden = true;
    queueLine.textContent = ""; typingLine.textContent = "";
    var end = panel.querySelector("#sd-end"); if (end) end.hidden = true;
    (state.outbox || []).forEach(function (m) { render({client_id: m.client_id, body: m.body, from: "visitor", failed: true}); });
    state.outbox = []; save();
    if (!panel.querySelector("#sd-ended")) {
      var after = el("div", {class: "stack after", id: "sd-after"});
      if (state.movedToEmail) {
        // Nobody wrote in it: no empty thread and no transcript to ask for, only the confirmation.
        agentLine.textContent = "";
        var links = panel.querySelector("#sd-transcript"); if (links) links.parentNode.hidden = true;
        if (!log.children.length) log.hidden = true;
        after.appendChild(el("p", {id: "sd-ended", class: "notice moved", text: s("movedToEmail",
          {reference: state.reference || "", email: state.email || ""})}));
      } else {
        after.appendChild(el("p", {id: "sd-ended", class: "notice", text: s("ended")}));
        after.appendChild(state.rated ? el("p", {id: "sd-rated", class: "thanks", text: s("rated")}) : ratingForm());
      }
      after.appendChild(el("button", {type: "button", class: "primary", id: "sd-new-chat", text: s("newChat"),
        onclick: function () { state = {lang: lang, open: true}; save(); offered = null; offer({}); }}));
      panel.appendChild(after);
    }
  }

  function ratingForm() {
    /* "How was this chat?": good or bad, with an optional comment; the desk notes it on the ticket. */
    var comment = el("textarea", {name: "comment", rows: "2", maxlength: "2000", "aria-label": s("rateComment"),
                                  placeholder: s("rateComment")});
    var form = el("div", {class: "stack", id: "sd-rate", role: "group", "aria-labelledby": "sd-rate-question"}, [
      el("p", {id: "sd-rate-question", class: "question", text: s("rate")}), comment,
      el("div", {class: "actions"}, ["good", "bad"].map(function (value) {
        return el("button", {type: "button", class: "primary", "data-rating": value, text: s(value),
                             onclick: function () { rate(value); }});
      }))]);
    function rate(value) {
      postJSON("/api/chat/conversations/" + state.conversation + "/rating", {rating: value, comment: comment.value})
        .then(function (reply) {
          if (reply.__status !== 200) return setStatus(reply.detail || s("error"));
          state.rated = value; save();
          form.replaceWith(el("p", {id: "sd-rated", class: "thanks", text: s("rated")}));
        }).catch(function () { setStatus(s("error")); });
    }
    return form;
  }

  function render(m) {
    /* One line per message, kept in sequence order; a pending line is replaced by its stored self. */
    var li = m.client_id ? log.querySelector('li[data-client="' + CSS_escape(m.client_id) + '"]') : null;
    if (m.seq && known[m.seq] && !li) return;
    if (!li) {
      li = el("li", {class: "msg " + (m.from === "agent" ? "agent" : "visitor")}, [
        el("span", {class: "who", text: m.from === "agent" ? (m.author || s("agent")) : s("you")}),
        el("span", {class: "body"}), el("span", {class: "state"})]);
      if (m.client_id) li.setAttribute("data-client", m.client_id);
      var files = m.attachments || [];
      // A file's message has its name as its text: shown once, as the link.
      if (!(files.length === 1 && files[0].filename === m.body)) li.querySelector(".body").appendChild(richText(m.body || ""));
      files.forEach(function (a) {
        var link = el("a", {class: "file", text: a.filename, download: a.filename,
          href: BASE + "/api/chat/conversations/" + state.conversation + "/attachments/" + a.id + "?token=" +
            encodeURIComponent(state.token)});
        link.insertBefore(paperclip(), link.firstChild);
        li.querySelector(".body").appendChild(link);
      });
    }
    if (m.seq) {
      // In sequence order, before the lines still waiting for their number.
      li.setAttribute("data-seq", m.seq); known[m.seq] = true;
      var before = Array.prototype.filter.call(log.children, function (x) {
        var seq = x.getAttribute("data-seq");
        return x !== li && ((seq && +seq > m.seq) || (x.hasAttribute("data-client") && !seq));
      })[0];
      log.insertBefore(li, before || null);
    } else if (li.parentNode !== log) log.appendChild(li);
    if (m.from !== "agent") {
      var st = m.failed ? s("failed") : m.pending ? s("sending") : (m.seq && m.seq <= (state.agentRead || 0)) ? s("read") : s("sent");
      li.querySelector(".state").textContent = st;
      li.setAttribute("data-state", m.failed ? "failed" : m.pending ? "pending" : st === s("read") ? "read" : "sent");
    }
    log.scrollTop = log.scrollHeight;
  }
  function CSS_escape(value) { return String(value).replace(/["\\]/g, "\\$&"); }

  function remember(m) {
    /* The visible transcript, by sequence number; "last" is the highest number with no gap below it. */
    state.messages = state.messages || [];
    if (state.messages.some(function (x) { return x.seq === m.seq; })) return;
    state.messages.push({seq: m.seq, id: m.id, from: m.from, author: m.author, body: m.body, client_id: m.client_id,
      attachments: m.attachments});
    state.messages.sort(function (a, b) { return a.seq - b.seq; });
    var have = {}; state.messages.forEach(function (x) { have[x.seq] = true; });
    while (have[(state.last || 0) + 1]) state.last = (state.last || 0) + 1;
    save();
  }
  function checkGap(lastSeq) {
    /* A number we never saw: ask for a replay (at most once a second). */
    if (lastSeq > (state.last || 0) && Date.now() - resumeAsked > 1000 && !(state.outbox || []).length) {
      resumeAsked = Date.now(); send({type: "resume", after: state.last || 0});
    }
  }

  function submit() {
    var body = input.value.trim();
    if (!body) return;
    input.value = "";
    var m = {client_id: newId(), body: body};
    state.outbox = (state.outbox || []).concat([m]); save();
    render({client_id: m.client_id, body: body, from: "visitor", pending: true});
    send({type: "message", client_id: m.client_id, body: body});
  }
  function flushOutbox() {
    (state.outbox || []).forEach(function (m) { send({type: "message", client_id: m.client_id, body: m.body}); });
  }
  function acked(frame) {
    var m = (state.outbox || []).filter(function (x) { return x.client_id === frame.client_id; })[0];
    state.outbox = (state.outbox || []).filter(function (x) { return x.client_id !== frame.client_id; });
    var stored = {seq: frame.seq, id: frame.id, from: "visitor", body: m ? m.body : "", client_id: frame.client_id,
      attachments: frame.attachments};
    if (!m) {  // the replay already carried it, or an upload
      var line = log && log.querySelector('li[data-client="' + CSS_escape(frame.client_id) + '"] .body');
      stored.body = line ? line.textContent : "";
    }
    remember(stored); render(stored);
  }

  function attach(file) {
    var f = file.files[0]; file.value = "";
    if (!f) return;
    if (f.size > config.limits.attachment_bytes) return setStatus(s("tooLarge", {mb: Math.round(config.limits.attachment_bytes / 1048576)}));
    if (config.limits.attachment_types.length && config.limits.attachment_types.indexOf(f.type) < 0) return setStatus(s("badType"));
    var clientId = newId(), data = new FormData();
    data.append("client_id", clientId); data.append("file", f, f.name);
    render({client_id: clientId, body: f.name, from: "visitor", pending: true});
    api("/api/chat/conversations/" + state.conversation + "/attachments", {method: "POST", body: data}).then(function (reply) {
      if (reply.__status !== 201) { render({client_id: clientId, body: f.name, from: "visitor", failed: true}); return setStatus(reply.detail || s("error")); }
      var li = log.querySelector('li[data-client="' + CSS_escape(clientId) + '"]'); if (li) li.remove();
      var stored = {seq: reply.seq, id: reply.id, from: "visitor", body: f.name, client_id: clientId, attachments: reply.attachments};
      remember(stored); render(stored);
    });
  }

  function sendTyping() {
    if (Date.now() - typingSent > 2000) { typingSent = Date.now(); send({type: "typing"}); }
  }
  function sendRead() {
    if (panel.hidden || document.hidden || !state.messages) return;
    var top = 0;
    state.messages.forEach(function (m) { if (m.from === "agent" && m.seq > top) top = m.seq; });
    if (top > readSent) { readSent = top; send({type: "read", seq: top}); }
  }
  document.addEventListener("visibilitychange", sendRead);

  /* ---------- the socket ---------- */
  function send(frame) { if (socket && socket.readyState === 1) socket.send(JSON.stringify(frame)); }
  function connect() {
    if (!state.conversation || state.ended) return;
    if (socket && socket.readyState < 2) return;
    var scheme = BASE.indexOf("https:") === 0 ? "wss://" : "ws://";
    var ws = socket = new WebSocket(scheme + BASE.replace(/^https?:\/\//, "") + "/ws/chat/" + state.conversation +
      "/?token=" + encodeURIComponent(state.token) + "&after=" + (state.last || 0));
    ws.onopen = function () { retry = 0; setStatus(""); schedulePing(); };
    ws.onmessage = function (event) { handle(JSON.parse(event.data)); };
    ws.onclose = function (event) {
      if (ws !== socket) return;
      clearTimeout(pingTimer); clearTimeout(pongDeadline);
      if (event.code === 4401 || event.code === 4403 || event.code === 4404) {
        state = {lang: lang, open: true}; save(); offered = null; offer({}); return setStatus(s("expired"));
      }
      if (state.ended) return;
      setStatus(s("reconnecting"));
      retry = Math.min(retry + 1, 5);
      setTimeout(connect, 300 * Math.pow(2, retry - 1));
    };
  }
  function schedulePing() {
    /* A ping says how far we are; the pong says how far the conversation is. It also finds dead
       connections a dropped network leaves open, and keeps the queue position fresh. */
    clearTimeout(pingTimer);
    pingTimer = setTimeout(function () {
      send({type: "ping", last_seq: state.last || 0});
      clearTimeout(pongDeadline);
      pongDeadline = setTimeout(function () { if (socket) socket.close(); }, 8000);
      schedulePing();
    }, state.agent ? 15000 : 5000);
  }

  function handle(f) {
    if (f.type === "hello" || f.type === "pong" || f.type === "resumed") {
      if (f.type === "pong") clearTimeout(pongDeadline);
      if (f.agent_read_seq != null) state.agentRead = Math.max(state.agentRead || 0, f.agent_read_seq);
      if (f.agent) { state.agent = f.agent.name; showAgent(); }
      if (f.queue) showQueue(f.queue);
      if (f.state === "ended") { state.ended = true; state.movedToEmail = f.ended_by === "email"; save(); showEnded(); }
      if (f.type === "hello") { setTimeout(flushOutbox, 0); }
      else checkGap(f.last_seq);
      save();
      return;
    }
    if (f.type === "message") {
      if (f.from === "visitor" && f.client_id) {
        state.outbox = (state.outbox || []).filter(function (x) { return x.client_id !== f.client_id; });
      }
      var news = !(f.seq && known[f.seq]);      // not a replay of a line already shown
      remember(f); render(f);
      if (f.from === "agent") {
        typingLine.textContent = ""; if (f.author && !state.agent) { state.agent = f.author; showAgent(); }
        sendRead(); if (news) attention();
      }
      if (f.seq > (state.last || 0) + 1) checkGap(f.seq);
      return;
    }
    if (f.type === "ack") { acked(f); return; }
    if (f.type === "typing") {
      typingLine.textContent = s("typing", {name: state.agent || s("agent")});
      clearTimeout(typingTimer); typingTimer = setTimeout(function () { typingLine.textContent = ""; }, 4000);
      return;
    }
    if (f.type === "read") {
      state.agentRead = Math.max(state.agentRead || 0, f.seq); save();
      (state.messages || []).forEach(function (m) { if (m.from === "visitor") render(m); });
      return;
    }
    if (f.type === "agent") {
      state.agent = f.name; save(); showAgent(); attention();
      log.appendChild(el("li", {class: "sys", text: s("joined", {name: f.name})})); return;
    }
    if (f.type === "ended") {
      state.ended = true; state.movedToEmail = f.by === "email"; save(); showEnded(); if (socket) socket.close(); return;
    }
    if (f.type === "transcript") { setStatus(s("transcriptSent", {email: f.email})); return; }
    if (f.type === "error") {
      if (f.code === "rate_limited" && f.client_id) {
        setStatus(s("rateLimited"));
        setTimeout(function () {
          var m = (state.outbox || []).filter(function (x) { return x.client_id === f.client_id; })[0];
          if (m) send({type: "message", client_id: m.client_id, body: m.body});
        }, (f.retry_after || 1) * 1000);
        return;
      }
      if (f.client_id) {
        state.outbox = (state.outbox || []).filter(function (x) { return x.client_id !== f.client_id; }); save();
        var li = log && log.querySelector('li[data-client="' + CSS_escape(f.client_id) + '"]');
        if (li) { li.querySelector(".state").textContent = s("failed"); li.setAttribute("data-state", "failed"); }
      }
      if (f.code === "closed") { state.ended = true; save(); showEnded(); }
      setStatus(f.detail || s("error"));
    }
  }

  window.addEventListener("online", function () { retry = 0; connect(); });

  function CSS() {
    /* The desk's design tokens (static/desk/desk.css), repeated here: the host page's CSS, and its
       variables, stay outside the shadow root. Text colours are at least 4.5:1 on their background. */
    var chat = "data:image/svg+xml," + encodeURIComponent('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" ' +
      'fill="none" stroke="#fff" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"><path d="M21 12a8 8 0 0 1-11.6 ' +
      '7.1L4 20.5l1.4-4.6A8 8 0 1 1 21 12z"/></svg>');
    return ":host{all:initial;--sd-brand:#2454c8;--sd-brand-strong:#1c44a8;--sd-ink:#1b2230;--sd-muted:#556070;" +
      "--sd-line:#dde2ea;--sd-field:#8a94a6;--sd-soft:#eef3fd;--sd-grey:#f1f3f7;--sd-warn:#fff4d6;" +
      "--sd-font:system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,'Noto Sans','PingFang SC','Hiragino Sans'," +
      "'Microsoft YaHei','Yu Gothic UI','Noto Sans CJK SC','Noto Sans CJK JP',sans-serif}" +
      ".panel:lang(ja){--sd-font:system-ui,-apple-system,'Hiragino Sans','Hiragino Kaku Gothic ProN','Yu Gothic UI',Meiryo," +
      "'Noto Sans CJK JP','Noto Sans JP','Segoe UI',Roboto,Arial,sans-serif}" +
      ".panel:lang(zh){--sd-font:system-ui,-apple-system,'PingFang SC','Microsoft YaHei','Noto Sans CJK SC','Noto Sans SC'," +
      "'Segoe UI',Roboto,Arial,sans-serif}" +
      "*{box-sizing:border-box;font-family:var(--sd-font);font-size:15px;line-height:1.45}" +
      ".launcher{position:fixed;right:20px;bottom:20px;z-index:2147483000;display:inline-flex;align-items:center;gap:8px;" +
      "max-width:calc(100vw - 40px);padding:12px 20px 12px 16px;border:0;border-radius:999px;background:var(--sd-brand);color:#fff;" +
      "font-weight:600;cursor:pointer;box-shadow:0 6px 20px rgba(16,24,40,.28)}" +
      ".launcher::before{content:'';flex:none;width:20px;height:20px;background:url(\"" + chat + "\") center/contain no-repeat}" +
      ".launcher:hover{background:var(--sd-brand-strong)}" +
      ".panel{position:fixed;right:20px;bottom:84px;z-index:2147483000;width:min(380px,calc(100vw - 40px));" +
      "max-height:min(620px,calc(100vh - 108px));display:flex;flex-direction:column;background:#fff;color:var(--sd-ink);" +
      "border:1px solid var(--sd-line);border-radius:14px;box-shadow:0 12px 40px rgba(16,24,40,.25);overflow:hidden}" +
      ".panel[hidden]{display:none}" +
      "header{display:flex;align-items:center;justify-content:space-between;gap:8px;background:var(--sd-brand);color:#fff;" +
      "padding:12px 12px 12px 16px}" +
      "h2{margin:0;font-size:16px;font-weight:650}.x{background:none;border:0;color:#fff;font-size:24px;line-height:1;" +
      "width:32px;height:32px;border-radius:8px;cursor:pointer}.x:hover{background:rgba(255,255,255,.15)}" +
      ".stack{display:flex;flex-direction:column;gap:10px;padding:14px 16px;overflow:auto}.stack>p{margin:0}" +
      "label{display:flex;flex-direction:column;gap:3px}label>span{font-size:13px;font-weight:600;color:var(--sd-ink)}" +
      "input,select,textarea{padding:8px 10px;border:1px solid var(--sd-field);border-radius:8px;width:100%;color:var(--sd-ink);" +
      "background:#fff}textarea{resize:vertical}" +
      ".primary{background:var(--sd-brand);color:#fff;border:0;border-radius:8px;padding:9px 14px;font-weight:600;cursor:pointer}" +
      ".primary:hover{background:var(--sd-brand-strong)}" +
      ".link{background:none;border:0;color:var(--sd-brand);text-decoration:underline;cursor:pointer;padding:4px;font-size:13px}" +
      ":focus-visible{outline:3px solid var(--sd-brand);outline-offset:2px}" +
      "input:focus-visible,select:focus-visible,textarea:focus-visible{outline-offset:0;border-color:var(--sd-brand)}" +
      ".launcher:focus-visible,header :focus-visible{outline-color:#ffc94d}" +
      ".status{margin:0;padding:8px 16px 0;color:#a3241a;min-height:0}.status:empty{display:none}" +
      ".notice{background:var(--sd-warn);border:1px solid #f1d98c;padding:10px 12px;border-radius:8px;margin:0}" +
      "p.agent,.queue,.typing{margin:8px 16px 0;color:var(--sd-muted);font-size:13px}p.agent{font-weight:600;color:var(--sd-ink)}" +
      ".typing:empty,.queue:empty{display:none}" +
      ".log{list-style:none;margin:0;padding:10px 16px;overflow:auto;flex:1;min-height:160px;display:flex;flex-direction:column;gap:8px}" +
      ".msg{margin:0;padding:8px 12px;border-radius:14px;max-width:85%;display:flex;flex-direction:column;gap:2px}" +
      ".msg.visitor{margin-left:auto;background:var(--sd-brand);color:#fff;border-bottom-right-radius:4px}" +
      ".msg.visitor .who,.msg.visitor .state{color:#e8eeff}.msg.visitor a{color:#fff}" +
      ".msg.agent{background:var(--sd-grey);border-bottom-left-radius:4px}" +
      ".body{white-space:pre-wrap;overflow-wrap:anywhere}.who,.state{font-size:12px;color:var(--sd-muted)}.who{font-weight:600}" +
      ".state:empty{display:none}" +
      ".sys{text-align:center;font-size:13px;color:var(--sd-muted)}" +
      ".composer{position:relative;display:flex;gap:8px;padding:10px 16px;flex-wrap:wrap;border-top:1px solid var(--sd-line)}" +
      ".composer textarea{flex:1;min-width:0}.file{font-size:12px}" +
      ".composer .file-input{position:absolute;width:1px;height:1px;padding:0;border:0;margin:0;overflow:hidden;clip:rect(0 0 0 0);opacity:0}" +
      ".attach{display:flex;flex:1 1 100%;align-items:center;font-size:13px;color:var(--sd-brand);cursor:pointer;padding:2px 0}" +
      ".file-input:focus-visible+.attach{outline:2px solid var(--sd-brand);outline-offset:2px}" +
      ".clip{vertical-align:-2px;margin-right:3px}" +
      ".actions{display:flex;flex-wrap:wrap;justify-content:space-between;gap:4px;padding:0 12px 10px}" +
      ".thanks,.checking{padding:14px 16px;margin:0}.checking{color:var(--sd-muted)}a{color:var(--sd-brand)}" +
      // An element the script hides stays hidden, whatever display its class gives it.
      "[hidden]{display:none!important}" +
      // The thread is what scrolls: the rating form and buttons under it keep their height.
      ".panel>*:not(.log){flex-shrink:0}.panel textarea[name=comment]{min-height:3.5em;resize:vertical}" +
      // On a short screen the whole panel scrolls rather than cutting off what is under the thread.
      ".panel{overflow-y:auto}.offer{margin:8px 16px 0;padding:10px 12px;border-radius:8px;background:var(--sd-warn);" +
      "border:1px solid #f1d98c;display:flex;flex-direction:column;gap:8px}.offer p{margin:0}" +
      ".after{border-top:1px solid var(--sd-line)}.after .stack{padding:0}.after .thanks{padding:0}" +
      ".question{margin:0;font-weight:600}" +
      ".after .actions{justify-content:flex-start;gap:8px;padding:0}.after .actions button{min-width:6em}";
  }

  function boot() {
    document.body.appendChild(host);
    api("/api/chat/config").then(function (c) { if (c.__status === 200) config = c; }).finally(function () {
      if (state.conversation) { showChat(); connect(); }
      if (state.open) setOpen(true);      // before a chat, opening asks what the desk offers
    });
  }
  if (document.body) boot(); else document.addEventListener("DOMContentLoaded", boot);
})();
