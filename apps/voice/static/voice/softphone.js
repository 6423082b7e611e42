/* The agent's browser softphone: receives the calls the desk bridges to this agent (Twilio Voice SDK, vendored). */
(function () {
  "use strict";
  var box = document.getElementById("softphone");
  if (!box || !window.Twilio || !window.Twilio.Device) return;
  var state = document.getElementById("softphone-state");
  var answer = document.getElementById("softphone-answer"), hangup = document.getElementById("softphone-hangup");
  var current = null, device = null;

  function show(key) { state.textContent = box.dataset["s" + key.charAt(0).toUpperCase() + key.slice(1)] || ""; }
  function token() {
    return fetch(box.dataset.tokenUrl, {credentials: "same-origin"}).then(function (answer) {
      if (!answer.ok) throw new Error("token " + answer.status);
      return answer.json();
    });
  }
  function ended() { current = null; answer.hidden = hangup.hidden = true; show("ended"); }

  token().then(function (data) {
    device = new window.Twilio.Device(data.token, {closeProtection: true});
    device.on("registered", function () { show("ready"); });
    device.on("error", function () { show("failed"); });
    device.on("tokenWillExpire", function () { token().then(function (fresh) { device.updateToken(fresh.token); }); });
    device.on("incoming", function (call) {
      current = call; show("ringing"); answer.hidden = false;
      call.on("disconnect", ended); call.on("cancel", ended); call.on("reject", ended);
    });
    device.register();
  }).catch(function () { show("failed"); });

  answer.onclick = function () {
    if (!current) return;
    current.accept(); answer.hidden = true; hangup.hidden = false; show("live");
  };
  hangup.onclick = function () { if (current) current.disconnect(); };
}());
