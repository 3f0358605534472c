/* A learner's launch: the widget on the conversation the server opened for them. */
(function () {
  "use strict";
  var launch = JSON.parse(document.getElementById("tutorchat-launch").textContent);
  TutorChat.mount(document.getElementById("tutorchat-root"), {
    url: launch.url,
    conversationId: launch.conversationId,
    assessmentId: launch.assessmentId,
    token: launch.token,
  });
})();
