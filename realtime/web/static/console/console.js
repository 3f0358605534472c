/*
 * The instructor console: the course's assessments (list, create, edit, clone, archive),
 * generated content to review, and results (per student, the class's charts, CSV, any
 * attempt's transcript, an attempt in progress watched live, a score set by hand).
 *
 * Views are addressed by the fragment: #/ (the course), #/new, #/a/ID/results,
 * #/a/ID/edit, #/a/ID/content, #/c/ID (an attempt). Everything goes through the HTTP API
 * with the instructor's token; nothing the API returns is parsed as HTML.
 */
(function () {
  "use strict";

  var TOKEN_KEY = "tutorchat:console-token";
  var root = document.getElementById("console");
  var who = document.getElementById("who");
  var token = null;
  var claims = null;
  var providers = null;
  var liveWidget = null;
  var charts = []; // drawn: destroyed when the view changes
  var toDraw = []; // made with their view, drawn once it is in the page (they need its size)

  var TYPES = { fill_blank: "Fill in the blank", flashcards: "Flashcards", chat: "Chat" };
  var SCHEMAS = { mastery: "Mastery", percentage: "Percentage", engagement: "Engagement" };
  var ITEMS_FIELD = { fill_blank: "items", flashcards: "cards", chat: "objectives" };
  // The fields of one item, by type: [key, label, kind, "required"]. "lines" is a list typed
  // one a line; an optional field left empty is left out. Fields the form does not show
  // (case_sensitive, a key point's other phrasings) are kept as they are.
  var ITEM_FIELDS = {
    fill_blank: [
      ["id", "Id", "text", "required"],
      ["text", "Sentence, with the blank as ___", "text", "required"],
      ["answers", "Accepted answers (one a line)", "lines"],
      ["hint", "Hint (optional)", "text"],
      ["reject", "Answers that are wrong though close to a right one (one a line)", "lines"],
    ],
    flashcards: [
      ["id", "Id", "text", "required"],
      ["front", "Front", "text", "required"],
      ["back", "Back (the answer)", "text", "required"],
      ["accept", "Other right answers (one a line)", "lines"],
    ],
    chat: [
      ["id", "Id", "text", "required"],
      ["question", "Question", "text", "required"],
      ["key_points", "Key points a full answer states (one a line)", "lines"],
      ["hints", "Hints (one a line; never an answer)", "lines"],
      ["explanation", "Explanation once the tries are used (optional)", "text"],
    ],
  };

  // ---- Helpers --------------------------------------------------------------------

  function h(tag, attributes, children) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      var value = attributes[name];
      if (value === null || value === undefined || value === false) return;
      if (name === "text") node.textContent = value;
      else if (name.slice(0, 2) === "on") node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : value);
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined) return;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function percent(value) {
    // The widget's rounding rule (one for every score shown); "–" for none yet.
    return value === null || value === undefined ? "–" : TutorChat.percent(value);
  }

  function when(iso) {
    return iso ? new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }) : "–";
  }

  function duration(seconds) {
    if (seconds < 60) return "under a minute";
    var minutes = Math.ceil(seconds / 60);
    return minutes < 60 ? minutes + " min" : Math.floor(minutes / 60) + " h " + (minutes % 60) + " min";
  }

  function titleOf(assessment) {
    return (assessment.ai_config && assessment.ai_config.title) || TYPES[assessment.assessment_type] + " assessment";
  }

  function api(method, path, body) {
    return fetch(path, {
      method: method,
      headers: Object.assign({ Authorization: "Bearer " + token },
                             body !== undefined ? { "Content-Type": "application/json" } : {}),
      body: body !== undefined ? JSON.stringify(body) : undefined,
    }).then(function (response) {
      var type = response.headers.get("content-type") || "";
      var read = type.indexOf("application/json") === 0 ? response.json() : response.text();
      return read.then(function (data) {
        if (!response.ok) {
          var error = new Error((data && data.error) || "HTTP " + response.status);
          error.status = response.status;
          throw error;
        }
        return data;
      });
    });
  }

  function decodeClaims(jwt) {
    try {
      var part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(decodeURIComponent(escape(atob(part))));
    } catch (error) {
      return null;
    }
  }

  function show(title, nodes, focus) {
    charts.forEach(function (chart) { chart.destroy(); });
    charts = [];
    if (liveWidget) { liveWidget.destroy(); liveWidget = null; }
    document.title = title + " · tutorchat console";
    root.textContent = "";
    root.appendChild(h("h1", { text: title }));
    nodes.forEach(function (node) { if (node) root.appendChild(node); });
    charts = toDraw.map(function (draw) { return draw(); });
    toDraw = [];
    if (focus !== false) root.focus({ preventScroll: false });
  }

  function notice(text, kind) {
    return h("p", { class: "tcc-notice" + (kind ? " tcc-" + kind : ""), role: kind === "error" ? "alert" : "status", text: text });
  }

  function failed(error) {
    show("Something went wrong", [notice(error.message, "error"), h("p", {}, [h("a", { href: "#/", text: "Back to the course" })])]);
  }

  // ---- Signing in -----------------------------------------------------------------

  function arrived() {
    // A token in the address at load (an LMS launch's link): it leaves the address at
    // once, the view it named stays. One for another course or user than the tab's is
    // only taken once the instructor says so (a link could carry someone else's).
    var fragment = /[#&]token=([^&]+)/.exec(location.hash);
    if (!fragment) return true;
    history.replaceState(null, "", location.pathname + (location.hash.replace(/[#&]token=[^&]+/, "") || "#/"));
    var offered;
    try { offered = decodeURIComponent(fragment[1]); } catch (error) { return true; }
    var current = sessionStorage.getItem(TOKEN_KEY);
    var now = current && decodeClaims(current);
    var next = decodeClaims(offered);
    if (!now || now.exp * 1000 < Date.now() || !next || (now.course === next.course && now.sub === next.sub && now.platform === next.platform)) {
      sessionStorage.setItem(TOKEN_KEY, offered);
      return true;
    }
    show("Switch course?", [
      notice("This link signs you in to course " + next.course + " as " + next.sub +
             ". This tab is signed in to course " + now.course + " as " + now.sub + "."),
      h("p", { class: "tcc-toolbar" }, [
        h("button", { type: "button", class: "tcc-primary", text: "Switch to course " + next.course, onclick: function () {
          sessionStorage.setItem(TOKEN_KEY, offered);
          route();
        } }),
        h("button", { type: "button", text: "Stay in course " + now.course, onclick: route }),
      ]),
    ]);
    return false;
  }

  function signIn() {
    token = sessionStorage.getItem(TOKEN_KEY);
    claims = token && decodeClaims(token);
    var instructor = claims && (claims.roles || []).indexOf("Instructor") >= 0;
    if (!instructor || claims.exp * 1000 < Date.now()) {
      token = null;
      who.textContent = "";
      askForToken(claims && !instructor ? "That token is not an instructor's." :
                  claims ? "That token has expired." : null);
      return false;
    }
    who.textContent = "Course " + claims.course + " · " + claims.sub;
    return true;
  }

  function askForToken(problem) {
    var input = h("textarea", { id: "token", class: "tcc-token", rows: "3", spellcheck: "false", required: true });
    var form = h("form", {
      class: "tcc-form", onsubmit: function (event) {
        event.preventDefault();
        sessionStorage.setItem(TOKEN_KEY, input.value.trim());
        route();
      },
    }, [
      h("label", { for: "token", text: "Instructor token" }), input,
      h("p", { class: "tcc-help", text: "Open the console from your course's LMS (an instructor launch links here), or paste a token from `tutorchat token --role Instructor`." }),
      h("button", { type: "submit", text: "Open the console" }),
    ]);
    show("Sign in", [problem ? notice(problem, "error") : null, form]);
  }

  // ---- The course -----------------------------------------------------------------

  function courseView() {
    api("GET", "/api/courses/" + encodeURIComponent(claims.course) + "/assessments").then(function (body) {
      var rows = body.assessments.map(function (a) {
        var archived = !!a.archived_at;
        return h("tr", { "data-assessment": a.id }, [
          h("th", { scope: "row" }, [h("a", { href: "#/a/" + a.id + "/results", text: titleOf(a) })]),
          h("td", { text: TYPES[a.assessment_type] }),
          h("td", { text: archived ? "Archived" : "Open" }),
          h("td", { text: when(a.updated_at) }),
          h("td", { class: "tcc-actions" }, [
            h("a", { href: "#/a/" + a.id + "/edit", text: "Edit" }),
            h("button", { type: "button", text: "Clone", onclick: function () { clone(a); } }),
            h("button", { type: "button", text: archived ? "Restore" : "Archive", onclick: function () { archive(a, !archived); } }),
          ]),
        ]);
      });
      var table = rows.length ? h("table", { class: "tcc-table" }, [
        h("caption", { text: "Assessments of the course, newest first" }),
        h("thead", {}, [h("tr", {}, ["Assessment", "Type", "Status", "Updated", "Actions"].map(function (name) {
          return h("th", { scope: "col", text: name });
        }))]),
        h("tbody", {}, rows),
      ]) : notice("No assessment yet: make the first one.");
      show("Assessments", [h("p", {}, [h("a", { class: "tcc-button", href: "#/new", text: "New assessment" })]), h("div", { class: "tcc-scroll" }, [table])]);
    }).catch(failed);
  }

  function clone(assessment) {
    api("POST", "/api/assessments/" + assessment.id + "/clone").then(function (copy) {
      location.hash = "#/a/" + copy.id + "/edit";
    }).catch(failed);
  }

  function archive(assessment, archived) {
    api("POST", "/api/assessments/" + assessment.id + (archived ? "/archive" : "/restore")).then(courseView).catch(failed);
  }

  function tabs(id, current) {
    return h("nav", { class: "tcc-tabs", "aria-label": "Assessment" }, [
      ["results", "Results"], ["edit", "Edit"], ["content", "Generated content"],
    ].map(function (tab) {
      return h("a", { href: "#/a/" + id + "/" + tab[0], "aria-current": tab[0] === current ? "page" : null, text: tab[1] });
    }));
  }

  // ---- Results --------------------------------------------------------------------

  function resultsView(id) {
    Promise.all([api("GET", "/api/assessments/" + id), api("GET", "/api/assessments/" + id + "/results")]).then(function (both) {
      var assessment = both[0];
      var results = both[1];
      var summary = results.summary;
      var facts = h("dl", { class: "tcc-facts" }, [
        ["Students", String(results.students.length)],
        ["Attempts", String(summary.attempts)],
        ["Completed", summary.completed + " (" + percent(summary.completion_rate * 100) + ")"],
        ["Passed", String(results.students.filter(function (s) { return s.passed; }).length)],
        ["Average time to complete", summary.average_seconds_to_complete ? duration(summary.average_seconds_to_complete) : "–"],
      ].reduce(function (all, pair) {
        return all.concat([h("dt", { text: pair[0] }), h("dd", { text: pair[1] })]);
      }, []));
      var bands = Object.keys(summary.mastery_distribution);
      var distribution = chart("distribution", "Completed attempts by score", "bar", bands.map(function (b) { return b + "%"; }),
        bands.map(function (b) { return summary.mastery_distribution[b]; }), "Attempts");
      var completions = chart("completions", "Attempts completed per day", "line",
        results.completions.map(function (d) { return d.date; }),
        results.completions.map(function (d) { return d.completed; }), "Completed");
      var missed = summary.most_missed.length ? h("ol", { class: "tcc-missed" }, summary.most_missed.map(function (m) {
        return h("li", {}, [h("span", { text: m.text }), h("span", { class: "tcc-count", text: missedTimes(m) })]);
      })) : notice("Nothing missed yet.");
      var students = results.students.length ? studentsTable(results) : notice("No student has opened it yet.");
      var csv = h("button", { type: "button", text: "Download CSV", onclick: function () { download(id); } });
      show(titleOf(assessment), [
        tabs(id, "results"),
        assessment.archived_at ? notice("Archived: it takes no new attempts.") : null,
        facts,
        h("div", { class: "tcc-charts" }, [distribution, completions]),
        h("h2", { text: "Most missed" }), missed,
        h("h2", { text: "Students" }), h("p", {}, [csv]), h("div", { class: "tcc-scroll" }, [students]),
      ]);
    }).catch(failed);
  }

  function chart(name, title, kind, labels, values, series) {
    // A canvas for the eye and, for everyone, the same figures as a table.
    var canvas = h("canvas", { role: "img", "aria-label": title + ": " + labels.map(function (l, i) { return l + " " + values[i]; }).join(", ") });
    var table = h("table", { class: "tcc-table tcc-small" }, [
      h("caption", { text: title }),
      h("thead", {}, [h("tr", {}, [h("th", { scope: "col", text: kind === "bar" ? "Score" : "Day" }), h("th", { scope: "col", text: series })])]),
      h("tbody", {}, labels.map(function (label, i) {
        return h("tr", {}, [h("th", { scope: "row", text: label }), h("td", { text: String(values[i]) })]);
      })),
    ]);
    var figure = h("figure", { class: "tcc-chart", "data-chart": name }, [
      h("figcaption", { text: title }), h("div", { class: "tcc-canvas" }, [canvas]),
      h("details", {}, [h("summary", { text: "The figures" }), table]),
    ]);
    if (window.Chart) toDraw.push(function () {
      return colour(new window.Chart(canvas, {
        type: kind,
        data: { labels: labels, datasets: [{ label: series, data: values }] },
        options: {
          responsive: true, maintainAspectRatio: false, animation: false,
          plugins: { legend: { display: false } },
          scales: { y: { beginAtZero: true, ticks: { precision: 0 } }, x: { ticks: {} } },
        },
      }));
    });
    return figure;
  }

  function missedTimes(missed) {
    return " · missed " + missed.misses + (missed.misses === 1 ? " time" : " times");
  }

  function colour(drawn) {
    // The page's own colours (light or dark, as the system is now).
    var ink = getComputedStyle(document.body).color;
    var accent = getComputedStyle(document.documentElement).getPropertyValue("--c-accent").trim();
    drawn.data.datasets[0].backgroundColor = accent;
    drawn.data.datasets[0].borderColor = accent;
    drawn.options.scales.x.ticks.color = ink;
    drawn.options.scales.y.ticks.color = ink;
    drawn.update();
    return drawn;
  }

  function studentsTable(results) {
    return h("table", { class: "tcc-table" }, [
      h("caption", { text: "Each student's attempts (mastery threshold " + percent(results.mastery_threshold) + ")" }),
      h("thead", {}, [h("tr", {}, ["Student", "Attempts", "Best", "Latest", "Passed", "Time spent", "Last activity", "Most missed", "Attempts to read"].map(function (name) {
        return h("th", { scope: "col", text: name });
      }))]),
      h("tbody", {}, results.students.map(function (s) {
        return h("tr", { "data-user": s.user_id }, [
          h("th", { scope: "row" }, [h("a", { href: "#/s/" + encodeURIComponent(s.user_id), text: s.user_id })]),
          h("td", { text: String(s.attempts.length) }),
          h("td", { text: percent(s.best_score) }),
          h("td", { text: s.latest_status === "active" ? "in progress" : percent(s.latest_score) }),
          h("td", { text: s.passed ? "yes" : "no" }),
          h("td", { text: duration(s.seconds_spent) }),
          h("td", { text: when(s.last_activity_at) }),
          h("td", {}, s.struggles.length ? [h("ul", { class: "tcc-struggles" }, s.struggles.map(function (m) {
            return h("li", {}, [m.text, h("span", { class: "tcc-count", text: missedTimes(m) })]);
          }))] : ["–"]),
          h("td", { class: "tcc-actions" }, s.attempts.map(function (a, i) {
            var number = s.attempts.length - i;
            return h("a", { href: "#/c/" + a.id, text: (a.status === "active" ? "Watch attempt " : "Attempt ") + number,
                            "aria-label": (a.status === "active" ? "Watch attempt " : "Attempt ") + number + " of " + s.user_id });
          })),
        ]);
      })),
    ]);
  }

  function download(id) {
    fetch("/api/assessments/" + id + "/results?format=csv", { headers: { Authorization: "Bearer " + token } })
      .then(function (response) { return response.blob(); })
      .then(function (blob) {
        var link = h("a", { href: URL.createObjectURL(blob), download: "results-" + id + ".csv" });
        document.body.appendChild(link);
        link.click();
        link.remove();
      });
  }

  // ---- One student ----------------------------------------------------------------

  function studentView(userId) {
    api("GET", "/api/courses/" + encodeURIComponent(claims.course) + "/students/" + encodeURIComponent(userId)).then(function (body) {
      var progress = body.progress;
      var facts = h("dl", { class: "tcc-facts" }, [
        h("dt", { text: "Attempts" }), h("dd", { text: String(body.attempts.length) }),
        h("dt", { text: "Completed in the course" }), h("dd", { text: progress ? String(progress.total_assessments) : "0" }),
        h("dt", { text: "Average mastery" }), h("dd", { text: progress ? percent(progress.average_mastery) : "–" }),
        h("dt", { text: "Last activity" }), h("dd", { text: progress ? when(progress.last_activity) : "–" }),
      ]);
      var table = body.attempts.length ? h("table", { class: "tcc-table" }, [
        h("caption", { text: "Attempts, newest first" }),
        h("thead", {}, [h("tr", {}, ["Assessment", "Status", "Score", "Passed", "Started", "Finished", "Attempt"].map(function (name) {
          return h("th", { scope: "col", text: name });
        }))]),
        h("tbody", {}, body.attempts.map(function (a) {
          return h("tr", {}, [
            h("th", { scope: "row" }, [h("a", { href: "#/a/" + a.assessment_id + "/results", text: a.title })]),
            h("td", { text: a.status }),
            h("td", { text: percent(a.mastery_score) }),
            h("td", { text: a.status === "active" ? "–" : a.passed ? "yes" : "no" }),
            h("td", { text: when(a.started_at) }),
            h("td", { text: when(a.completed_at) }),
            h("td", {}, [h("a", { href: "#/c/" + a.id, text: a.status === "active" ? "Watch" : "Read", "aria-label": (a.status === "active" ? "Watch " : "Read ") + a.title + ", started " + when(a.started_at) })]),
          ]);
        })),
      ]) : notice("No attempt in this course yet.");
      show("Student " + userId, [facts, h("div", { class: "tcc-scroll" }, [table])]);
    }).catch(failed);
  }

  // ---- One attempt ----------------------------------------------------------------

  function attemptView(id) {
    Promise.all([api("GET", "/api/conversations/" + id), api("GET", "/api/conversations/" + id + "/messages?limit=1000")]).then(function (both) {
      var conversation = both[0];
      var back = h("p", {}, [h("a", { href: "#/a/" + conversation.assessment_config_id + "/results", text: "Back to the results" })]);
      var facts = h("dl", { class: "tcc-facts" }, [
        h("dt", { text: "Student" }), h("dd", { text: conversation.user_id }),
        h("dt", { text: "Status" }), h("dd", { text: conversation.status }),
        h("dt", { text: "Score" }), h("dd", { class: "tcc-score", text: percent(conversation.mastery_score) }),
      ]);
      if (conversation.status === "active") {
        // In progress: the protocol's observer, read-only, as it happens.
        var holder = h("div", { class: "tcc-live" });
        show("Attempt of " + conversation.user_id + " (live)", [back, facts, holder]);
        liveWidget = TutorChat.mount(holder, {
          url: location.origin, conversationId: id, token: token, readOnly: true,
          title: "Live: " + conversation.user_id,
        });
        return;
      }
      var transcript = h("div", { class: "tcc-transcript", role: "log", "aria-label": "Transcript" }, both[1].messages.filter(function (m) {
        return m.role !== "system";
      }).map(function (m) {
        var body = m.role === "assistant" ? TutorChat.renderMarkdown(m.content) : document.createTextNode(m.content);
        return h("div", { class: "tcc-turn tcc-" + m.role }, [
          h("p", { class: "tcc-speaker" }, [m.role === "assistant" ? "Tutor" : "Student", " · ", h("time", { datetime: m.created_at, text: when(m.created_at) }),
            m.status !== "complete" ? " · " + m.status : ""]),
          h("div", { class: "tcc-said" }, [body]),
        ]);
      }));
      show("Attempt of " + conversation.user_id, [back, facts, h("h2", { text: "Transcript" }), transcript, scoreForm(conversation)]);
    }).catch(failed);
  }

  function scoreForm(conversation) {
    var status = h("p", { id: "score-status", role: "status" });
    var score = h("input", { id: "score", type: "number", min: "0", max: "100", step: "any", required: true, value: String(conversation.mastery_score) });
    var reason = h("textarea", { id: "reason", rows: "2", maxlength: "1000", required: true });
    return h("form", {
      class: "tcc-form", "aria-labelledby": "score-heading", onsubmit: function (event) {
        event.preventDefault();
        status.textContent = "Saving…";
        api("POST", "/api/conversations/" + conversation.id + "/score", { score: Number(score.value), reason: reason.value })
          .then(function (override) {
            status.textContent = "Saved: " + percent(override.score) + " (was " + percent(override.previous_score) + "). " +
              (override.latest_attempt ? "The gradebook gets it too where the LMS takes grades." :
               "The gradebook keeps the student's latest attempt's score.");
            root.querySelector(".tcc-score").textContent = percent(override.score);
          })
          .catch(function (error) { status.textContent = error.message; });
      },
    }, [
      h("h2", { id: "score-heading", text: "Set the score by hand" }),
      h("label", { for: "score", text: "Score (0 to 100)" }), score,
      h("label", { for: "reason", text: "Reason (kept with the score)" }), reason,
      h("button", { type: "submit", text: "Set the score" }), status,
    ]);
  }

  // ---- Editing --------------------------------------------------------------------

  function editView(id) {
    var loading = id ? api("GET", "/api/assessments/" + id) : Promise.resolve(null);
    var listing = providers ? Promise.resolve(providers) : api("GET", "/api/llm-providers").then(function (body) { return (providers = body.providers); });
    Promise.all([loading, listing]).then(function (both) { editor(both[0]); }).catch(failed);
  }

  function editor(assessment) {
    var draft = assessment ? {
      assessment_type: assessment.assessment_type, grading_schema: assessment.grading_schema,
      mastery_threshold: assessment.mastery_threshold, ai_config: JSON.parse(JSON.stringify(assessment.ai_config || {})),
    } : { assessment_type: "fill_blank", grading_schema: "mastery", mastery_threshold: 80,
          ai_config: { title: "", items: [{ id: "q1", text: "", answers: [] }] } };
    var linkId = assessment ? assessment.resource_link_id : "console-" + Math.random().toString(36).slice(2, 12);
    var errors = h("div", { class: "tcc-errors", role: "alert" });
    var form = h("form", { class: "tcc-form tcc-editor", novalidate: true });
    var raw = h("textarea", { id: "raw", class: "tcc-raw", rows: "24", spellcheck: "false", "aria-describedby": "raw-error" });
    var rawError = h("p", { id: "raw-error", class: "tcc-field-error" });
    var rawView = h("div", { class: "tcc-raw-view", hidden: true }, [h("label", { for: "raw", text: "The assessment as JSON" }), raw, rawError]);
    var toggle = h("button", { type: "button", "aria-expanded": "false", text: "Raw JSON" });
    var save = h("button", { type: "button", class: "tcc-primary", text: assessment ? "Save" : "Create" });

    function field(path, label, control, help) {
      control.id = "f-" + path.replace(/[^\w]/g, "-");
      control.setAttribute("data-path", path);
      var error = h("p", { class: "tcc-field-error", id: control.id + "-error" });
      control.setAttribute("aria-describedby", control.id + "-error" + (help ? " " + control.id + "-help" : ""));
      return h("div", { class: "tcc-field" }, [h("label", { for: control.id, text: label }), control,
        help ? h("p", { class: "tcc-help", id: control.id + "-help", text: help }) : null, error]);
    }

    function select(options, value, onchange) {
      var node = h("select", { onchange: onchange });
      Object.keys(options).forEach(function (key) {
        node.appendChild(h("option", { value: key, selected: key === value, text: options[key] }));
      });
      return node;
    }

    function build() {
      form.textContent = "";
      var ai = draft.ai_config;
      var type = draft.assessment_type;
      var common = h("fieldset", {}, [h("legend", { text: "The assessment" }),
        field("ai_config.title", "Title", h("input", { type: "text", value: ai.title || "", oninput: function (e) { ai.title = e.target.value; } })),
        field("assessment_type", "Type", select(TYPES, type, function (e) {
          draft.assessment_type = e.target.value;
          ai[ITEMS_FIELD[e.target.value]] = ai[ITEMS_FIELD[e.target.value]] || [{ id: "q1" }];
          Object.keys(ITEMS_FIELD).forEach(function (t) { if (t !== e.target.value) delete ai[ITEMS_FIELD[t]]; });
          build();
        })),
        field("grading_schema", "Grading", select(SCHEMAS, draft.grading_schema, function (e) { draft.grading_schema = e.target.value; }),
          "Mastery: an item counts once right (a given-away answer never does); percentage: each item's first try; engagement: each item answered in earnest."),
        field("mastery_threshold", "Pass mark (%)", h("input", { type: "number", min: "0", max: "100", value: String(draft.mastery_threshold),
          oninput: function (e) { draft.mastery_threshold = e.target.value === "" ? e.target.value : Number(e.target.value); } })),
        field("ai_config.max_attempts", "Tries per item", h("input", { type: "number", min: "1", value: ai.max_attempts === undefined ? "" : String(ai.max_attempts), placeholder: "2",
          oninput: function (e) { numberOrNothing(ai, "max_attempts", e.target.value); } })),
        field("ai_config.attempts_allowed", "Attempts of the whole assessment", h("input", { type: "number", min: "1", value: ai.attempts_allowed === undefined ? "" : String(ai.attempts_allowed), placeholder: "the server's limit",
          oninput: function (e) { numberOrNothing(ai, "attempts_allowed", e.target.value); } })),
        field("ai_config.new_attempt", "A new attempt starts", select({ on_request: "when the student asks", automatic: "on opening after a finished one" }, ai.new_attempt || "on_request",
          function (e) { ai.new_attempt = e.target.value; })),
        type === "chat" ? field("ai_config.llm", "Tutor", llmSelect(ai)) : null,
      ]);
      form.appendChild(common);
      var key = ITEMS_FIELD[type];
      ai[key] = ai[key] || [];
      ai[key].forEach(function (item, index) { form.appendChild(itemFieldset(type, key, item, index)); });
      form.appendChild(h("button", { type: "button", text: "Add " + (type === "flashcards" ? "a card" : type === "chat" ? "a question" : "an item"), onclick: function () {
        ai[key].push({ id: "q" + (ai[key].length + 1) });
        build();
        var fields = form.querySelectorAll("fieldset");
        fields[fields.length - 1].querySelector("input").focus();
      } }));
    }

    function numberOrNothing(target, name, value) {
      if (value === "") delete target[name]; else target[name] = Number(value);
    }

    function llmSelect(ai) {
      var options = { "": "The built-in tutor (no LLM)" };
      (providers || []).forEach(function (p) {
        p.models.forEach(function (model) { options[p.name + "\u0000" + model] = p.name + ": " + model; });
      });
      var current = ai.llm ? ai.llm.provider + "\u0000" + ai.llm.model : "";
      return select(options, current, function (e) {
        if (!e.target.value) { delete ai.llm; return; }
        var parts = e.target.value.split("\u0000");
        ai.llm = Object.assign({}, ai.llm || {}, { provider: parts[0], model: parts[1] });
      });
    }

    function itemFieldset(type, key, item, index) {
      var path = "ai_config." + key + "." + index;
      var noun = type === "flashcards" ? "Card " : type === "chat" ? "Question " : "Item ";
      var set = h("fieldset", { class: "tcc-item" }, [h("legend", { text: noun + (index + 1) })]);
      itemFields(set, type, item, path, true);
      // Variants: other versions testing the same skill (every field but the id).
      (item.variants || []).forEach(function (variant, v) {
        var nested = h("fieldset", { class: "tcc-variant" }, [h("legend", { text: "Variant " + (v + 1) + " of " + noun.toLowerCase() + (index + 1) })]);
        itemFields(nested, type, variant, path + ".variants." + v, false);
        nested.appendChild(h("button", { type: "button", class: "tcc-remove", text: "Remove this variant", onclick: function () {
          item.variants.splice(v, 1);
          if (!item.variants.length) delete item.variants;
          build();
        } }));
        set.appendChild(nested);
      });
      set.appendChild(h("button", { type: "button", text: "Add a variant", "aria-label": "Add a variant to " + noun.toLowerCase() + (index + 1), onclick: function () {
        item.variants = (item.variants || []).concat([{}]);
        build();
      } }));
      if (assessment) set.appendChild(tryAnswer(item));
      set.appendChild(h("button", { type: "button", class: "tcc-remove", text: "Remove", "aria-label": "Remove " + noun.toLowerCase() + (index + 1), onclick: function () {
        draft.ai_config[key].splice(index, 1);
        build();
      } }));
      return set;
    }

    function itemFields(container, type, item, path, withId) {
      ITEM_FIELDS[type].forEach(function (spec) {
        var name = spec[0];
        if (name === "id" && !withId) return;
        var value = item[name];
        var control;
        if (spec[2] === "lines") {
          var shown = (value || []).map(function (v) { return typeof v === "string" ? v : v.text; }).join("\n");
          control = h("textarea", { rows: "3", oninput: function (e) {
            var lines = e.target.value.split("\n").map(function (l) { return l.trim(); }).filter(Boolean);
            // A key point's other phrasings (accept) are kept when its text stays.
            var before = item[name] || [];
            item[name] = lines.map(function (line) {
              var kept = before.filter(function (v) { return typeof v === "object" && v.text === line; })[0];
              return kept || line;
            });
          } });
          control.value = shown;
        } else {
          control = h("input", { type: "text", value: value || "", oninput: function (e) {
            if (e.target.value === "" && spec[3] !== "required") delete item[name];
            else item[name] = e.target.value;
          } });
        }
        container.appendChild(field(path + "." + name, spec[1], control));
      });
    }

    function tryAnswer(item) {
      var input = h("input", { type: "text", id: "try-" + item.id, "aria-describedby": "try-" + item.id + "-verdict" });
      var verdict = h("p", { class: "tcc-verdict", id: "try-" + item.id + "-verdict", role: "status" });
      return h("div", { class: "tcc-try" }, [
        h("label", { for: "try-" + item.id, text: "Try an answer (as saved)" }), input,
        h("button", { type: "button", text: "Check", onclick: function () {
          api("POST", "/api/assessments/" + assessment.id + "/preview", { item_id: item.id, answers: [input.value] }).then(function (body) {
            var v = body.verdicts[0];
            verdict.textContent = v.verdict + ": " + v.why;
          }).catch(function (error) { verdict.textContent = error.message; });
        } }),
        verdict,
      ]);
    }

    function showErrors(message) {
      Array.prototype.forEach.call(form.querySelectorAll("[aria-invalid]"), function (node) {
        node.removeAttribute("aria-invalid");
        document.getElementById(node.id + "-error").textContent = "";
      });
      errors.textContent = "";
      rawError.textContent = "";
      if (!message) return;
      // The server names the field: "ai_config.items[0].text: must hold the blank as ___".
      var split = message.indexOf(": ");
      var path = split > 0 ? message.slice(0, split).replace(/\[(\d+)\]/g, ".$1") : "";
      var target = null;
      while (path && !(target = form.querySelector('[data-path="' + path + '"]'))) {
        path = path.indexOf(".") > 0 ? path.slice(0, path.lastIndexOf(".")) : "";
      }
      errors.appendChild(h("p", { text: "Not saved: " + message }));
      if (!rawView.hidden) { rawError.textContent = message; return; }
      if (target) {
        target.setAttribute("aria-invalid", "true");
        document.getElementById(target.id + "-error").textContent = message.slice(split + 2);
        target.focus();
      } else {
        errors.focus();
      }
    }

    toggle.addEventListener("click", function () {
      var toRaw = rawView.hidden;
      if (toRaw) {
        raw.value = JSON.stringify(draft, null, 2);
      } else {
        try { draft = JSON.parse(raw.value); } catch (error) { rawError.textContent = "Not JSON: " + error.message; return; }
        build();
      }
      rawView.hidden = !toRaw;
      form.hidden = toRaw;
      toggle.setAttribute("aria-expanded", String(toRaw));
      toggle.textContent = toRaw ? "Form" : "Raw JSON";
    });
    save.addEventListener("click", function () {
      if (!rawView.hidden) {
        try { draft = JSON.parse(raw.value); } catch (error) { rawError.textContent = "Not JSON: " + error.message; return; }
      }
      showErrors(null);
      var body = Object.assign({ platform_id: claims.platform, resource_link_id: linkId }, draft);
      api("PUT", "/api/assessments", body).then(function (saved) {
        if (assessment) {
          assessment = saved;
          errors.appendChild(notice("Saved.", "ok"));
        } else {
          location.hash = "#/a/" + saved.id + "/edit";
        }
      }).catch(function (error) { showErrors(error.message); });
    });
    errors.setAttribute("tabindex", "-1");
    build();
    show(assessment ? "Edit: " + titleOf(assessment) : "New assessment", [
      assessment ? tabs(assessment.id, "edit") : null,
      h("p", { class: "tcc-toolbar" }, [toggle, save]), errors, form, rawView,
    ]);
  }

  // ---- Generated content ----------------------------------------------------------

  function contentView(id) {
    Promise.all([api("GET", "/api/assessments/" + id), api("GET", "/api/assessments/" + id + "/content")]).then(function (both) {
      var assessment = both[0];
      var status = h("p", { role: "status", id: "generate-status" });
      var source = h("textarea", { id: "source", rows: "6", required: true, maxlength: "100000" });
      var count = h("input", { id: "count", type: "number", min: "1", max: "100", value: "5" });
      var kind = assessment.assessment_type === "flashcards" ? "flashcards" : "fill_blank";
      var generate = h("form", { class: "tcc-form", onsubmit: function (event) {
        event.preventDefault();
        status.textContent = "Generating…";
        api("POST", "/api/assessments/" + id + "/content", { source: source.value, kind: kind, count: Number(count.value) })
          .then(function () { contentView(id); })
          .catch(function (error) { status.textContent = error.message; });
      } }, [
        h("h2", { text: "Generate from a text" }),
        h("label", { for: "source", text: "Source text (a chapter, notes, a glossary)" }), source,
        h("label", { for: "count", text: kind === "flashcards" ? "Cards" : "Sentences" }), count,
        h("button", { type: "submit", text: "Generate" }), status,
      ]);
      var list = both[1].content.map(function (c, set) { return generatedSet(id, c, set); });
      show(titleOf(assessment) + ": generated content", [
        tabs(id, "content"),
        assessment.assessment_type === "chat" ? notice("Chat assessments take no generated content: write their questions in Edit.") : generate,
        h("h2", { text: "To review" }),
      ].concat(list.length ? list : [notice("Nothing generated yet.")]));
    }).catch(failed);
  }

  function generatedSet(id, c, set) {
    // One generated set: each item editable, saved as a whole, then approved or not.
    var field = c.content.cards ? "cards" : "items";
    var items = JSON.parse(JSON.stringify(c.content[field] || []));
    var status = h("p", { role: "status", class: "tcc-verdict" });
    var parts = field === "cards" ? [["front", "Front of card"], ["back", "Back of card"]] :
      [["text", "Sentence"], ["answers", "Answers to sentence"]];
    var list = h("ol", { class: "tcc-generated" }, items.map(function (item, n) {
      return h("li", {}, parts.map(function (part) {
        var name = "g" + set + "-" + n + "-" + part[0];
        var value = item[part[0]];
        var control = part[0] === "answers" ?
          h("textarea", { id: name, rows: "2", oninput: function (e) { item.answers = e.target.value.split("\n").map(function (l) { return l.trim(); }).filter(Boolean); } }) :
          h("input", { id: name, type: "text", value: value || "", oninput: function (e) { item[part[0]] = e.target.value; } });
        if (part[0] === "answers") control.value = (value || []).join("\n");
        var label = part[1] + " " + (n + 1) + (part[0] === "answers" ? " (one a line)" : "");
        return h("div", { class: "tcc-field" }, [h("label", { for: name, text: label }), control]);
      }));
    }));
    var body = {};
    return h("section", { class: "tcc-content", "data-hash": c.content_hash, "aria-label": "Generated " + when(c.created_at) }, [
      h("p", { class: "tcc-help", text: (c.approved ? "Approved: students get these. " : "Not approved: students do not get these. ") +
        items.length + " by the " + (c.content.generator === "llm" ? "LLM" : "built-in generator") + (c.content.edited_by ? ", edited" : "") }),
      list,
      h("p", { class: "tcc-toolbar" }, [
        h("button", { type: "button", text: "Save changes", onclick: function () {
          body[field] = items;
          status.textContent = "Saving…";
          api("PUT", "/api/assessments/" + id + "/content/" + c.content_hash, body)
            .then(function () { status.textContent = "Saved."; })
            .catch(function (error) { status.textContent = "Not saved: " + error.message; });
        } }),
        h("button", { type: "button", class: c.approved ? null : "tcc-primary", text: c.approved ? "Withdraw" : "Approve", onclick: function () {
          api("POST", "/api/assessments/" + id + "/content/" + c.content_hash + (c.approved ? "/reject" : "/approve")).then(function () { contentView(id); }).catch(failed);
        } }),
      ]),
      status,
    ]);
  }

  // ---- Routing --------------------------------------------------------------------

  function route() {
    if (!signIn()) return;
    var parts = location.hash.replace(/^#\/?/, "").split("/");
    var id;
    try { id = parts[1] && encodeURIComponent(decodeURIComponent(parts[1])); } catch (error) { id = null; }
    if (parts[0] === "new") return editView(null);
    if (parts[0] === "a" && id) {
      if (parts[2] === "edit") return editView(id);
      if (parts[2] === "content") return contentView(id);
      return resultsView(id);
    }
    if (parts[0] === "c" && id) return attemptView(id);
    if (parts[0] === "s" && id) return studentView(decodeURIComponent(id));
    return courseView();
  }

  window.addEventListener("hashchange", route);
  window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", function () {
    charts.forEach(colour);
  });
  if (arrived()) route();
})();
