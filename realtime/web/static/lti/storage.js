/* LTI Platform Storage (lti.put_data / lti.get_data over postMessage), for launches in
   an LMS frame that gets no third-party cookie. "put": keep the login's state in the
   platform's frame, then go on to the platform. "get": read it back at the launch and,
   if it is this launch's, confirm. Messages go to the platform's origin only, and only
   its answers are read. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("tutorchat-launch").textContent);
  var root = document.getElementById("tutorchat-root");
  var messageId = "tutorchat-" + Math.random().toString(36).slice(2);
  var WAIT_MS = 5000;

  function frame() {
    var parent = window.parent !== window ? window.parent : window.opener;
    if (!parent) return null;
    if (data.target === "_parent") return parent;
    try { return parent.frames[data.target] || null; } catch (error) { return null; }
  }

  function say(text) {
    var line = document.createElement("p");
    line.setAttribute("role", "alert");
    line.textContent = text;
    root.appendChild(line);
  }

  function answer(subject, handle) {
    var done = false;
    window.addEventListener("message", function (event) {
      var message = event.data;
      if (done || event.origin !== data.origin || !message || typeof message !== "object") return;
      if (message.subject !== subject || message.message_id !== messageId) return;
      done = true;
      handle(message);
    });
    setTimeout(function () { if (!done) { done = true; handle(null); } }, WAIT_MS);
  }

  var target = frame();
  if (data.mode === "put") {
    answer("lti.put_data.response", function () { window.location.replace(data.next); });
    if (target) {
      target.postMessage(
        { subject: "lti.put_data", message_id: messageId, key: data.key, value: data.value },
        data.origin
      );
    }
    return;
  }
  answer("lti.get_data.response", function (message) {
    if (!message || message.error || message.value !== data.expected) {
      say("This browser could not show that it began this launch (no cookie, and the " +
          "course platform's storage does not hold it). Open the assessment again from " +
          "your course, or in a new window.");
      return;
    }
    var form = document.createElement("form");
    form.method = "post";
    form.action = "/lti/launch/confirm";
    [["code", data.code], ["state", message.value]].forEach(function (pair) {
      var field = document.createElement("input");
      field.type = "hidden";
      field.name = pair[0];
      field.value = pair[1];
      form.appendChild(field);
    });
    document.body.appendChild(form);
    form.submit();
  });
  if (target) {
    target.postMessage({ subject: "lti.get_data", message_id: messageId, key: data.key }, data.origin);
  }
})();
