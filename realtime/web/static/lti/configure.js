/* An instructor's launch: the resource link's assessment, as JSON, saved through the API
   (PUT /api/assessments) with the server's validation message shown beside it. */
(function () {
  "use strict";
  var launch = JSON.parse(document.getElementById("tutorchat-launch").textContent);
  var root = document.getElementById("tutorchat-root");
  var STARTER = {
    assessment_type: "fill_blank",
    grading_schema: "mastery",
    mastery_threshold: 80,
    ai_config: {
      title: "A first assessment",
      items: [{ id: "q1", text: "The capital of France is ___.", answers: ["Paris"] }],
    },
  };

  function element(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) { node.setAttribute(name, attributes[name]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  var facts = element("dl", { class: "lti-facts" });
  [["Course", launch.course], ["Resource link", launch.resourceLinkId],
   ["Assessment", launch.assessment ? launch.assessment.id : "not set up yet"],
   ["Signed in as", launch.name || "an instructor"]].forEach(function (pair) {
    facts.appendChild(element("dt", {}, pair[0]));
    facts.appendChild(element("dd", {}, pair[1]));
  });
  root.appendChild(facts);

  if (launch.assessment) {
    // The console opens in a tab of its own, signed in by the fragment (never sent).
    var view = "#/a/" + encodeURIComponent(launch.assessment.id) + "/results";
    root.appendChild(element("p", {}, undefined)).appendChild(element("a", {
      href: launch.url + "/console" + view + "&token=" + encodeURIComponent(launch.token),
      target: "_blank", rel: "noopener noreferrer", class: "lti-console",
    }, "Open the instructor console: results, transcripts, generated content, forms"));
  }

  root.appendChild(element("h2", {}, launch.assessment ? "Edit this assessment" : "Set up this assessment"));
  root.appendChild(element("p", { id: "lti-help" },
    "The assessment as JSON: its type (fill_blank, flashcards or chat), grading schema and " +
    "content. Students who open this link take it. Saving checks it and says what is wrong."));
  var shown = launch.assessment || STARTER;
  var editor = element("textarea", {
    class: "lti-config", id: "lti-config", spellcheck: "false", "aria-describedby": "lti-help lti-status",
    "aria-label": "Assessment configuration (JSON)",
  });
  editor.value = JSON.stringify({
    assessment_type: shown.assessment_type, grading_schema: shown.grading_schema,
    mastery_threshold: shown.mastery_threshold, ai_config: shown.ai_config,
  }, null, 2);
  root.appendChild(editor);
  var actions = element("div", { class: "lti-actions" });
  var save = element("button", { type: "button" }, "Save");
  actions.appendChild(save);
  var status = element("p", { class: "lti-status", id: "lti-status", role: "status" });
  actions.appendChild(status);
  root.appendChild(actions);

  if (launch.assessment) {
    var grades = element("p", { class: "lti-grades", role: "status" }, "Grades: reading…");
    root.insertBefore(grades, root.children[1]);
    fetch(launch.url + "/api/assessments/" + encodeURIComponent(launch.assessment.id) + "/grades", {
      headers: { Authorization: "Bearer " + launch.token },
    }).then(function (response) { return response.json(); }).then(function (body) {
      var counts = body.counts || {};
      var parts = [];
      [["sent", "sent"], ["pending", "waiting"], ["failed", "failed"]].forEach(function (pair) {
        if (counts[pair[0]]) parts.push(counts[pair[0]] + " " + pair[1]);
      });
      var failed = (body.grades || []).filter(function (g) { return g.status === "failed" || g.last_error; })[0];
      grades.textContent = "Scores to the gradebook: " + (parts.join(", ") || "none yet") +
        (failed && failed.last_error ? ". Last problem: " + failed.last_error : "");
    }).catch(function () { grades.textContent = "Scores to the gradebook: could not be read."; });
  }

  function say(text, kind) {
    status.textContent = text;
    status.className = "lti-status " + (kind || "");
  }

  save.addEventListener("click", function () {
    var body;
    try {
      body = JSON.parse(editor.value);
    } catch (error) {
      say("This is not JSON: " + error.message, "bad");
      return;
    }
    body.platform_id = launch.platformId;
    body.resource_link_id = launch.resourceLinkId;
    save.disabled = true;
    say("Saving…");
    fetch(launch.url + "/api/assessments", {
      method: "PUT",
      headers: { Authorization: "Bearer " + launch.token, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.json().then(function (answer) {
        if (response.ok) say("Saved. Students who open this link now take it.", "good");
        else say("Not saved: " + (answer.error || response.status), "bad");
      });
    }).catch(function () {
      say("Not saved: the server could not be reached.", "bad");
    }).then(function () { save.disabled = false; });
  });
})();
