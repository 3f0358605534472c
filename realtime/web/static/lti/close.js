/* Dynamic registration is done: ask the LMS that opened this page to close it. */
(function () {
  "use strict";
  var opener = window.opener || (window.parent !== window ? window.parent : null);
  if (opener) opener.postMessage({ subject: "org.imsglobal.lti.close" }, "*");
})();
