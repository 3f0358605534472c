/* The demo page: a visitor token kept in this browser, one button per demo assessment. */
(function () {
  "use strict";
  var picker = document.getElementById("picker");
  var chat = document.getElementById("chat");
  var widget = null;

  function visitorToken() {
    var saved = localStorage.getItem("tutorchat:demo-token");
    if (saved) return Promise.resolve(saved);
    return fetch("/demo/visitors", { method: "POST" })
      .then(function (response) { return response.json(); })
      .then(function (body) {
        localStorage.setItem("tutorchat:demo-token", body.token);
        return body.token;
      });
  }

  function open(assessment, button) {
    Array.prototype.forEach.call(picker.querySelectorAll("button"), function (b) {
      b.setAttribute("aria-pressed", b === button ? "true" : "false");
    });
    localStorage.setItem("tutorchat:demo-assessment", assessment.id);
    visitorToken().then(function (token) {
      return fetch("/api/assessments/" + assessment.id + "/conversations", {
        method: "POST", headers: { Authorization: "Bearer " + token },
      }).then(function (response) {
        if (response.status === 401) {  // a token from an older secret: start afresh
          localStorage.removeItem("tutorchat:demo-token");
          throw new Error("expired");
        }
        return response.json();
      }).then(function (conversation) {
        if (widget) widget.destroy();
        widget = TutorChat.mount(chat, {
          url: location.origin, conversationId: conversation.id, token: token,
          title: assessment.title, assessmentId: assessment.id,
        });
        window.tutorchatWidget = widget;
      });
    }).catch(function (error) {
      if (error.message === "expired") open(assessment, button);
    });
  }

  fetch("/demo/assessments").then(function (response) { return response.json(); })
    .then(function (body) {
      var remembered = localStorage.getItem("tutorchat:demo-assessment");
      body.assessments.forEach(function (assessment) {
        var item = document.createElement("li");
        var button = document.createElement("button");
        button.type = "button";
        button.textContent = assessment.title;
        button.setAttribute("data-assessment", assessment.type);
        button.setAttribute("aria-pressed", "false");
        button.addEventListener("click", function () { open(assessment, button); });
        item.appendChild(button);
        picker.appendChild(item);
        if (assessment.id === remembered) open(assessment, button);
      });
    });
})();
