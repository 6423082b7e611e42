/* The portal's stored times (UTC in the page) in the viewer's own zone and the page's language:
 * an owner's admin has no agent profile with a zone (apps/portal/templatetags/portal_times.py). */
(function () {
  "use strict";
  var language = document.documentElement.lang || undefined;
  var styles = {
    minute: {year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", timeZoneName: "short"},
    day: {year: "numeric", month: "2-digit", day: "2-digit"}
  };
  var formats = {};
  document.querySelectorAll("time[data-local]").forEach(function (element) {
    var style = styles[element.dataset.local] ? element.dataset.local : "minute";
    var at = new Date(element.getAttribute("datetime"));
    if (isNaN(at.getTime())) return;
    formats[style] = formats[style] || new Intl.DateTimeFormat(language, styles[style]);
    element.title = element.textContent;          // the UTC time, on hover
    element.textContent = formats[style].format(at);
  });
})();
