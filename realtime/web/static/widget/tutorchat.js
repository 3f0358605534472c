/*
 * tutorchat widget: a drop-in chat for one conversation, speaking the tutorchat.1
 * protocol as a reconnecting client.
 *
 *   <link rel="stylesheet" href="https://SERVER/widget/tutorchat.css">
 *   <script src="https://SERVER/widget/tutorchat.js"></script>
 *   <div id="tutor"></div>
 *   <script>
 *     TutorChat.mount(document.getElementById("tutor"),
 *                     {url: "https://SERVER", conversationId: "...", token: "..."});
 *   </script>
 *
 * What it guarantees, whatever the network does:
 * - a turn is shown "sending" until its ack, then "stored"; turns not yet acknowledged
 *   (typed offline, or lost with a socket) are sent again after every reconnect with
 *   the same client_msg_id, so the server stores each once;
 * - reply text is applied by offset (in code points), never twice and never with a gap;
 *   a gap or a length that disagrees with assistant.end forces a resynchronisation;
 * - it resumes from last_seq after a drop, with exponential backoff and full jitter;
 * - text is text: nothing the tutor or a student writes is parsed as HTML. A small
 *   Markdown subset (paragraphs, lists, code, emphasis, links) is built as DOM nodes,
 *   and TeX between $...$ or $$...$$ is typeset by KaTeX (served beside this file,
 *   loaded the first time a reply holds maths).
 */
(function (global) {
  "use strict";

  var PROTOCOL = "tutorchat.1";
  var BACKOFF_BASE_MS = 500;
  var BACKOFF_CAP_MS = 15000;
  var PING_EVERY_MS = 20000;
  var PONG_WITHIN_MS = 10000;
  var MAX_CONTENT = 8000;
  var COUNT_FROM = 0.9; // the character counter shows from this share of the limit
  var FOLLOW_WITHIN_PX = 48; // this close to the end, the transcript follows new text
  var RIGHT_TO_LEFT = ["ar", "fa", "he", "ur"];

  // The widget's words, by language. A page passes `locale` (else the page's lang) and
  // may override any text with `messages`. {name} is filled in.
  var MESSAGES = {
    en: {
      connecting: "Connecting…",
      connected: "Connected",
      reconnecting: "Reconnecting…",
      offline: "Offline: your answers will be sent when you reconnect.",
      completed: "Completed",
      expired: "Your session has expired. Reload the page to sign in again.",
      notYours: "This conversation belongs to someone else.",
      unknown: "This conversation does not exist.",
      conversation: "Conversation",
      masteryScore: "Mastery score",
      mastery: "Mastery {score}",
      itemsDone: "{done} of {total} done",
      answerLabel: "Your answer (Enter sends, Shift+Enter starts a new line)",
      placeholder: "Type your answer",
      send: "Send",
      stop: "Stop",
      count: "{used} of {limit} characters",
      countFull: "{used} of {limit} characters: the most an answer can hold",
      waiting: "Waiting for connection…",
      sending: "Sending…",
      notSent: "Not sent: {reason}",
      sent: "Sent",
      typing: "Typing…",
      stopped: "Stopped",
      stoppedGuidance: "Stopped. Answer when you are ready: your next message is taken " +
        "as your answer to what the tutor asked.",
      failedReply: "The tutor could not finish this reply.",
      interrupted: "Interrupted",
      retry: "Retry",
      askAgain: "Ask again",
      askAgainText: "Please ask the question again.",
      tooFast: "Too fast: wait a moment, then retry.",
      over: "The assessment is over.",
      complete: "Assessment complete. Score: {score}",
      abandoned: "Closed for inactivity. Score: {score}",
      passed: "{result} (passed)",
      notPassed: "{result} (not passed yet)",
      announceComplete: "Assessment complete: {score}.",
      replying: "The tutor is replying.",
      jump: "Jump to latest",
      attempts: "Your attempts",
      attempt: "Attempt {number}: {score}",
      attemptOpen: "Attempt {number}: in progress",
      newAttempt: "Start a new attempt",
      noAttemptsLeft: "No attempts left.",
    },
    fr: {
      connecting: "Connexion…",
      connected: "Connecté",
      reconnecting: "Reconnexion…",
      offline: "Hors ligne : vos réponses partiront à la reconnexion.",
      completed: "Terminé",
      expired: "Votre session a expiré. Rechargez la page pour vous reconnecter.",
      notYours: "Cette conversation appartient à quelqu’un d’autre.",
      unknown: "Cette conversation n’existe pas.",
      conversation: "Conversation",
      masteryScore: "Score de maîtrise",
      mastery: "Maîtrise {score}",
      itemsDone: "{done} sur {total} faits",
      answerLabel: "Votre réponse (Entrée envoie, Maj+Entrée passe à la ligne)",
      placeholder: "Tapez votre réponse",
      send: "Envoyer",
      stop: "Arrêter",
      count: "{used} caractères sur {limit}",
      countFull: "{used} caractères sur {limit} : la réponse n’en contient pas plus",
      waiting: "En attente de connexion…",
      sending: "Envoi…",
      notSent: "Non envoyé : {reason}",
      sent: "Envoyé",
      typing: "Rédaction…",
      stopped: "Arrêté",
      stoppedGuidance: "Arrêté. Répondez quand vous êtes prêt : votre prochain message " +
        "est pris comme réponse à la question du tuteur.",
      failedReply: "Le tuteur n’a pas pu finir cette réponse.",
      interrupted: "Interrompu",
      retry: "Réessayer",
      askAgain: "Reposer la question",
      askAgainText: "Pouvez-vous reposer la question ?",
      tooFast: "Trop rapide : attendez un instant, puis réessayez.",
      over: "L’évaluation est terminée.",
      complete: "Évaluation terminée. Score : {score}",
      abandoned: "Fermée pour inactivité. Score : {score}",
      passed: "{result} (réussie)",
      notPassed: "{result} (pas encore réussie)",
      announceComplete: "Évaluation terminée : {score}.",
      replying: "Le tuteur répond.",
      jump: "Aller au plus récent",
      attempts: "Vos tentatives",
      attempt: "Tentative {number} : {score}",
      attemptOpen: "Tentative {number} : en cours",
      newAttempt: "Commencer une nouvelle tentative",
      noAttemptsLeft: "Plus de tentative possible.",
    },
    ar: {
      connecting: "جارٍ الاتصال…",
      connected: "متصل",
      reconnecting: "جارٍ إعادة الاتصال…",
      offline: "غير متصل: ستُرسل إجاباتك عند عودة الاتصال.",
      completed: "مكتمل",
      expired: "انتهت جلستك. أعد تحميل الصفحة لتسجيل الدخول من جديد.",
      notYours: "هذه المحادثة تخص شخصًا آخر.",
      unknown: "هذه المحادثة غير موجودة.",
      conversation: "المحادثة",
      masteryScore: "درجة الإتقان",
      mastery: "الإتقان {score}",
      itemsDone: "{done} من {total} مكتملة",
      answerLabel: "إجابتك (Enter للإرسال، Shift+Enter لسطر جديد)",
      placeholder: "اكتب إجابتك",
      send: "إرسال",
      stop: "إيقاف",
      count: "{used} من {limit} حرف",
      countFull: "{used} من {limit} حرف: أقصى ما تتسع له الإجابة",
      waiting: "في انتظار الاتصال…",
      sending: "جارٍ الإرسال…",
      notSent: "لم تُرسل: {reason}",
      sent: "أُرسلت",
      typing: "يكتب…",
      stopped: "أُوقف",
      stoppedGuidance: "أُوقف الرد. أجب حين تكون مستعدًا: رسالتك التالية تُعدّ إجابة عن " +
        "سؤال المعلم.",
      failedReply: "تعذّر على المعلم إكمال هذا الرد.",
      interrupted: "انقطع",
      retry: "أعد المحاولة",
      askAgain: "اطرح السؤال مجددًا",
      askAgainText: "من فضلك اطرح السؤال مجددًا.",
      tooFast: "سريع جدًا: انتظر لحظة ثم أعد المحاولة.",
      over: "انتهى التقييم.",
      complete: "اكتمل التقييم. الدرجة: {score}",
      abandoned: "أُغلق لعدم النشاط. الدرجة: {score}",
      passed: "{result} (ناجح)",
      notPassed: "{result} (لم ينجح بعد)",
      announceComplete: "اكتمل التقييم: {score}.",
      replying: "المعلم يرد.",
      jump: "انتقل إلى الأحدث",
      attempts: "محاولاتك",
      attempt: "المحاولة {number}: {score}",
      attemptOpen: "المحاولة {number}: قيد التقدم",
      newAttempt: "ابدأ محاولة جديدة",
      noAttemptsLeft: "لم تبق محاولات.",
    },
  };

  function language(root, locale) {
    var asked = locale || (root.closest("[lang]") || document.documentElement).lang ||
      (global.navigator && global.navigator.language) || "en";
    var base = String(asked).toLowerCase().split("-")[0];
    return MESSAGES[base] ? base : "en";
  }

  // Every score the student sees, as the server writes it in the tutor's words: a whole
  // percent, halves rounded up (66.67 is 67%).
  function percent(value) { return Math.floor(Number(value) + 0.5) + "%"; }
  var FATAL_CLOSES = { 4401: "expired", 4403: "notYours", 4404: "unknown" };

  // ---- Text as DOM: a safe Markdown subset -------------------------------------------

  // `code`, **strong**, *em*, $maths$ or \(maths\), [text](https://…) and bare
  // https:// links; everything else is a text node. (Not _em_: snake_case and __dunder__
  // names are common in answers about code. A $ opens maths only before a non-space and
  // closes only after one, not before a digit: "$5 and $10" stays text.)
  var INLINE = new RegExp([
    "`[^`\\n]+`",
    "\\*\\*[^*\\n]+\\*\\*",
    "\\*[^*\\s][^*\\n]*\\*",
    "\\$[^$\\s](?:[^$\\n]*[^$\\s])?\\$(?!\\d)",
    "\\\\\\((?:[^\\\\\\n]|\\\\(?!\\)))+?\\\\\\)",
    "\\[[^\\]\\n]+\\]\\(https?://[^\\s)]+\\)",
    "https?://[^\\s<>()]+",
  ].join("|"), "g");

  function inline(text, typeset) {
    var fragment = document.createDocumentFragment();
    var last = 0;
    var match;
    INLINE.lastIndex = 0;
    while ((match = INLINE.exec(text)) !== null) {
      var token = match[0];
      var trailing = "";
      if (/^https?:/.test(token)) {
        // A sentence's full stop or comma after a bare link is not part of it.
        trailing = /[.,;:!?'"]*$/.exec(token)[0];
        token = token.slice(0, token.length - trailing.length);
      }
      if (match.index > last) {
        fragment.appendChild(document.createTextNode(text.slice(last, match.index)));
      }
      fragment.appendChild(inlineNode(token, typeset));
      if (trailing) fragment.appendChild(document.createTextNode(trailing));
      last = match.index + match[0].length;
    }
    if (last < text.length) fragment.appendChild(document.createTextNode(text.slice(last)));
    return fragment;
  }

  function inlineNode(token, typeset) {
    var element;
    if (token[0] === "`") {
      element = document.createElement("code");
      element.textContent = token.slice(1, -1);
    } else if (token.slice(0, 2) === "**") {
      element = document.createElement("strong");
      element.textContent = token.slice(2, -2);
    } else if (token[0] === "*") {
      element = document.createElement("em");
      element.textContent = token.slice(1, -1);
    } else if (token[0] === "$") {
      element = typeset(token.slice(1, -1), false);
    } else if (token[0] === "\\") {
      element = typeset(token.slice(2, -2), false);
    } else if (token[0] === "[") {
      var split = token.indexOf("](");
      element = link(token.slice(split + 2, -1), token.slice(1, split));
    } else {
      element = link(token, token);
    }
    return element;
  }

  function link(href, text) {
    // Only web addresses become links: javascript:, data: and the like stay text.
    var url;
    try { url = new URL(href); } catch (error) { return document.createTextNode(text); }
    if (url.protocol !== "https:" && url.protocol !== "http:") return document.createTextNode(text);
    var anchor = document.createElement("a");
    anchor.href = url.href;
    anchor.textContent = text;
    anchor.rel = "noopener noreferrer nofollow";
    anchor.target = "_blank";
    return anchor;
  }

  // Shown until KaTeX has loaded (or where it cannot): the TeX as written.
  function plainMaths(tex, display) {
    var holder = document.createElement(display ? "div" : "span");
    holder.className = display ? "tc-math tc-math-display" : "tc-math";
    holder.textContent = display ? "$$" + tex + "$$" : "$" + tex + "$";
    return holder;
  }

  function renderMarkdown(text, typeset) {
    typeset = typeset || plainMaths;
    var fragment = document.createDocumentFragment();
    var blocks = text.split(/\n{2,}/);
    for (var i = 0; i < blocks.length; i++) {
      var block = blocks[i];
      if (!block.trim()) continue;
      var lines = block.split("\n");
      var display = /^\s*(?:\$\$([\s\S]+?)\$\$|\\\[([\s\S]+?)\\\])\s*$/.exec(block);
      if (/^```/.test(block)) {
        var pre = document.createElement("pre");
        pre.tabIndex = 0; // a wide listing scrolls: keyboard users reach it too
        var code = document.createElement("code");
        code.textContent = lines.slice(1, /```\s*$/.test(block) ? -1 : undefined).join("\n");
        pre.appendChild(code);
        fragment.appendChild(pre);
      } else if (display) {
        fragment.appendChild(typeset(display[1] || display[2], true));
      } else if (lines.every(function (l) { return /^\s*[-*] /.test(l); })) {
        fragment.appendChild(list("ul", lines, /^\s*[-*] /, typeset));
      } else if (lines.every(function (l) { return /^\s*\d+[.)] /.test(l); })) {
        fragment.appendChild(list("ol", lines, /^\s*\d+[.)] /, typeset));
      } else {
        var paragraph = document.createElement("p");
        lines.forEach(function (line, n) {
          if (n > 0) paragraph.appendChild(document.createElement("br"));
          paragraph.appendChild(inline(line, typeset));
        });
        fragment.appendChild(paragraph);
      }
    }
    return fragment;
  }

  function list(tag, lines, marker, typeset) {
    var element = document.createElement(tag);
    lines.forEach(function (line) {
      var item = document.createElement("li");
      item.appendChild(inline(line.replace(marker, ""), typeset));
      element.appendChild(item);
    });
    return element;
  }

  // ---- Helpers ------------------------------------------------------------------------

  function codePoints(text) {
    return Array.from(text);
  }

  function newClientMsgId() {
    var bytes = new Uint8Array(16);
    global.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function el(tag, className, attributes) {
    var element = document.createElement(tag);
    if (className) element.className = className;
    Object.keys(attributes || {}).forEach(function (name) {
      element.setAttribute(name, attributes[name]);
    });
    return element;
  }

  // ---- The widget ---------------------------------------------------------------------

  function TutorChatWidget(root, options) {
    if (!options || !options.url || !options.conversationId || !options.token) {
      throw new Error("TutorChat.mount needs url, conversationId and token");
    }
    this.root = root;
    this.url = options.url.replace(/\/+$/, "");
    this.token = options.token;
    // With the assessment's id the widget lists the student's attempts at the end and
    // starts a new one when the assessment's policy allows and the student asks.
    this.assessmentId = options.assessmentId || null;
    // An instructor watching an attempt (the protocol's observer): no answer field.
    this.readOnly = !!options.readOnly;
    this.locale = language(root, options.locale);
    this.texts = Object.assign({}, MESSAGES.en, MESSAGES[this.locale], options.messages || {});
    // Called for a fresh token when the server closes the socket because the token
    // expired (4401): a function returning the token, or a promise of it.
    this.getToken = options.getToken || null;
    this.renewals = 0; // fresh tokens asked for since the last welcome
    this.title = options.title || "Tutor";
    this.onEvent = options.onEvent || function () {};
    this.timers = {};
    this.destroyed = false;
    this._build();
    this._listen();
    this._open(options.conversationId);
  }

  TutorChatWidget.prototype = {
    // -- Public ---------------------------------------------------------------------

    send: function (content) {
      content = content.trim();
      if (!content || this.completed) return null;
      var turn = { clientMsgId: newClientMsgId(), content: content, state: "sending" };
      this.pending.push(turn);
      this._savePending();
      this._transmit(turn);
      this._render();
      return turn.clientMsgId;
    },

    stop: function () {
      var streaming = this._streamingReply();
      if (streaming) this._frame({ type: "cancel", message_id: streaming.id });
    },

    destroy: function () {
      this.destroyed = true;
      Object.keys(this.timers).forEach(function (name) { clearTimeout(this.timers[name]); }, this);
      global.removeEventListener("online", this._onOnline);
      global.removeEventListener("offline", this._onOffline);
      if (this.ws) this.ws.close(1000);
      this.root.textContent = "";
    },

    // -- Connection -----------------------------------------------------------------

    _open: function (conversationId) {
      // A conversation from its start: the first, or a new attempt's.
      this.conversationId = conversationId;
      this.storageKey = "tutorchat:pending:" + conversationId;
      this.messages = new Map(); // seq -> {seq, id, role, content, status, clientMsgId, at}
      this.replySeq = new Map(); // assistant message id -> seq
      this.pending = []; // turns not yet acknowledged: {clientMsgId, content, state, error}
      this.lastSeq = 0; // every message up to here is held complete
      this.conversation = null;
      this.completed = null;
      this.attempts = null; // the student's attempts, fetched once this one is over
      this.fatal = null;
      this.attempt = 0;
      this.replayLeft = 0;
      this.opened = false;
      this.follow = true; // the transcript follows new text until the student scrolls up
      this.itemsDone = 0;
      this.itemsTotal = 0;
      this.rendered.forEach(function (entry) { entry.element.remove(); });
      this.rendered = new Map();
      this._loadPending();
      this._progress(0);
      this._connect();
    },

    _connect: function () {
      if (this.destroyed || this.fatal || this.completed) return;
      this._status("connecting", this._t("connecting"));
      var ws = new WebSocket(this.url.replace(/^http/, "ws") + "/ws/conversations/" +
                             encodeURIComponent(this.conversationId));
      this.ws = ws;
      var self = this;
      ws.onopen = function () {
        ws.send(JSON.stringify({ type: "hello", token: self.token, last_seq: self.lastSeq }));
      };
      ws.onmessage = function (event) {
        if (self.ws !== ws) return;
        var frame;
        try {
          frame = JSON.parse(event.data);
        } catch (error) {
          return self._resync("unreadable frame");
        }
        self._receive(frame);
      };
      ws.onclose = function (event) {
        if (self.ws !== ws) return;
        self._drop(1000);
        self._closed(event.code);
      };
    },

    _drop: function (code) {
      // Leave the socket now: its close handshake may never finish on a dead network.
      var ws = this.ws;
      this.ws = null;
      this.conversation = null;
      this._clear("ping");
      this._clear("pong");
      if (ws && ws.readyState < WebSocket.CLOSING) ws.close(code);
    },

    _closed: function (code) {
      if (this.destroyed) return;
      this.onEvent({ type: "closed", code: code });
      // A fresh token, at most twice in a row: one that is refused too is not fresh.
      if (code === 4401 && this.getToken && this.renewals < 2) {
        this.renewals += 1;
        this._renew();
        return;
      }
      if (FATAL_CLOSES[code]) {
        this.fatal = this._t(FATAL_CLOSES[code]);
        this._status("stopped", this.fatal);
        this._render();
        return;
      }
      if (this.completed) {
        this._status("done", this._t("completed"));
        return;
      }
      if (global.navigator && global.navigator.onLine === false) {
        this._status("offline", this._t("offline"));
        return; // the online event reconnects
      }
      // Full jitter: a whole class reconnecting after a server restart spreads out.
      var ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * Math.pow(2, this.attempt));
      var delay = Math.random() * ceiling;
      this.attempt += 1;
      this._status("reconnecting", this._t("reconnecting"));
      this._later("reconnect", delay, this._connect.bind(this));
    },

    _renew: function () {
      // The token expired: ask the page for a fresh one, then resume from lastSeq.
      var self = this;
      this._status("reconnecting", this._t("reconnecting"));
      Promise.resolve().then(function () { return self.getToken(); }).then(function (token) {
        if (!token) throw new Error("no token");
        self.token = token;
        self._connect();
      }).catch(function () {
        self.renewals = 2;
        self._closed(4401);
      });
    },

    _frame: function (frame) {
      if (this.ws && this.ws.readyState === WebSocket.OPEN && this.conversation) {
        this.ws.send(JSON.stringify(frame));
        return true;
      }
      return false;
    },

    _transmit: function (turn) {
      turn.state = "sending";
      turn.error = null;
      this._frame({ type: "send", client_msg_id: turn.clientMsgId, content: turn.content });
    },

    _resync: function (why) {
      // Drop what cannot be trusted and rejoin from last_seq: the replay brings it whole.
      this.onEvent({ type: "resync", reason: why });
      this._drop(4000);
      this._closed(4000);
      this._render();
    },

    _heartbeat: function () {
      var self = this;
      this._later("ping", PING_EVERY_MS, function () {
        var nonce = "c" + Date.now();
        self._frame({ type: "ping", nonce: nonce });
        self._later("pong", PONG_WITHIN_MS, function () { self._resync("no pong"); });
        self._heartbeat();
      });
    },

    // -- Frames ---------------------------------------------------------------------

    _receive: function (frame) {
      switch (frame.type) {
        case "welcome": return this._welcome(frame);
        case "message": return this._message(frame);
        case "ack": return this._ack(frame);
        case "assistant.start": return this._start(frame);
        case "assistant.delta": return this._delta(frame);
        case "assistant.end": return this._end(frame);
        case "progress": return this._progress(frame.mastery_score, frame.items_done, frame.items_total);
        case "completed": return this._completed(frame);
        case "ping": this._frame({ type: "pong", nonce: frame.nonce }); return;
        case "pong": this._clear("pong"); return;
        case "error": return this._error(frame);
      }
    },

    _welcome: function (frame) {
      if (frame.protocol !== PROTOCOL) return this._resync("unknown protocol");
      this.conversation = frame.conversation;
      this.renewals = 0;
      this.attempt = 0;
      this.replayLeft = frame.replay;
      this._status("connected", this._t("connected"));
      this._progress(frame.conversation.mastery_score);
      if (!frame.recovered) this._loadOlder();
      if (frame.conversation.status !== "active" && !this.completed) {
        // A finished attempt, opened again: its transcript and result, to read.
        this.completed = { status: frame.conversation.status, mastery_score: frame.conversation.mastery_score };
        this._finished();
      }
      if (this.completed) this._status("done", this._t("completed"));
      if (!this.opened) {
        this.opened = true;
        // The assessment opens: the answer field takes the keyboard (not the page's
        // scroll position: the widget may sit below other content).
        if (!this.completed && !this.readOnly) this.focusInput = true;
      }
      this._heartbeat();
      if (this.replayLeft === 0) this._replayed();
      this._render();
    },

    _replayed: function () {
      // After the replay, what is still unacknowledged goes again (same ids: stored once).
      this.pending.forEach(function (turn) {
        if (turn.state === "sending") this._transmit(turn);
      }, this);
    },

    _message: function (frame) {
      this._hold({
        seq: frame.seq, id: frame.id, role: frame.role, content: frame.content,
        status: frame.status, clientMsgId: frame.client_msg_id || null,
        at: frame.created_at ? new Date(frame.created_at) : new Date(),
      });
      if (frame.role === "user" && frame.client_msg_id) this._acknowledged(frame.client_msg_id);
      if (frame.role === "assistant" && frame.status === "streaming") {
        this._announce(this._t("replying")); // joined mid-reply
      }
      if (this.replayLeft > 0 && --this.replayLeft === 0) this._replayed();
      this._render();
    },

    _ack: function (frame) {
      var turn = this._pendingTurn(frame.client_msg_id);
      var content = turn ? turn.content : (this.messages.get(frame.seq) || {}).content || "";
      this._hold({
        seq: frame.seq, id: frame.message_id, role: "user", content: content,
        status: "complete", clientMsgId: frame.client_msg_id, at: new Date(),
      });
      this._acknowledged(frame.client_msg_id);
      this._render();
    },

    _start: function (frame) {
      this._hold({ seq: frame.seq, id: frame.message_id, role: "assistant", content: "",
                   status: "streaming", at: new Date() });
      // A screen reader hears that a reply began, then the reply once whole: never each
      // token as it streams.
      this._announce(this._t("replying"));
      this._render();
    },

    _delta: function (frame) {
      var held = this._reply(frame.message_id);
      if (!held) return this._resync("delta of an unknown reply");
      var chars = codePoints(held.content);
      if (frame.offset > chars.length) return this._resync("a gap in a reply");
      var text = codePoints(frame.text);
      if (frame.offset + text.length <= chars.length) return; // already held
      held.content = chars.slice(0, frame.offset).join("") + frame.text;
      this._render();
    },

    _end: function (frame) {
      var held = this._reply(frame.message_id);
      if (!held) return;
      if (codePoints(held.content).length !== frame.length) {
        // Text went missing: forget the reply, so last_seq stays below it, and rejoin.
        this.messages.delete(held.seq);
        this._render();
        return this._resync("reply length differs");
      }
      held.status = frame.status;
      this._advance();
      this._announce(held.content);
      this._render();
    },

    _completed: function (frame) {
      var self = this;
      this.completed = frame;
      this._progress(frame.mastery_score);
      this.pending.forEach(function (turn) {
        if (turn.state === "sending") { turn.state = "failed"; turn.error = self._t("over"); }
      });
      this._savePending();
      this._status("done", this._t("completed"));
      this._announce(this._t("announceComplete", { score: percent(frame.mastery_score) }));
      this._finished();
      this._render();
    },

    _finished: function () {
      // The result takes the focus once shown; the attempts list follows when known.
      this.focusResult = true;
      if (!this.assessmentId) return;
      var self = this;
      var conversationId = this.conversationId;
      this._api("GET", "/attempts").then(function (body) {
        if (self.conversationId !== conversationId) return;
        self.attempts = body;
        self._render();
      }).catch(function () {});
    },

    _newAttempt: function () {
      var self = this;
      this.newAttemptButton.disabled = true;
      this._api("POST", "/conversations", { new_attempt: true }).then(function (conversation) {
        self._drop(1000);
        self._clear("reconnect");
        self.resultEl.hidden = true;
        self._open(conversation.id);
        self.onEvent({ type: "attempt", conversationId: conversation.id });
      }).catch(function () {
        self.newAttemptButton.disabled = false;
      });
    },

    _api: function (method, path, body) {
      // The assessment's HTTP API, with the student's token.
      return fetch(this.url + "/api/assessments/" + encodeURIComponent(this.assessmentId) + path, {
        method: method,
        headers: Object.assign({ Authorization: "Bearer " + this.token },
                               body ? { "Content-Type": "application/json" } : {}),
        body: body ? JSON.stringify(body) : undefined,
      }).then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      });
    },

    _error: function (frame) {
      var turn = frame.ref && this._pendingTurn(frame.ref);
      if (turn) {
        turn.state = "failed";
        turn.error = frame.code === "rate_limited" ? this._t("tooFast") : frame.message;
        this._savePending();
        this._render();
      }
      this.onEvent({ type: "error", code: frame.code, message: frame.message });
    },

    // -- State ----------------------------------------------------------------------

    _hold: function (message) {
      var known = this.messages.get(message.seq);
      if (known && known.role === "assistant" && known.status === "streaming" &&
          message.status === "streaming" &&
          codePoints(known.content).length > codePoints(message.content).length) {
        message.content = known.content; // a replay never takes text back
      }
      this.messages.set(message.seq, message);
      if (message.role === "assistant") this.replySeq.set(message.id, message.seq);
      this._advance();
    },

    _advance: function () {
      var next;
      while ((next = this.messages.get(this.lastSeq + 1)) && next.status !== "streaming") {
        this.lastSeq += 1;
      }
    },

    _reply: function (messageId) {
      var seq = this.replySeq.get(messageId);
      return seq === undefined ? null : this.messages.get(seq);
    },

    _streamingReply: function () {
      var found = null;
      this.messages.forEach(function (message) {
        if (message.role === "assistant" && message.status === "streaming") found = message;
      });
      return found;
    },

    _pendingTurn: function (clientMsgId) {
      for (var i = 0; i < this.pending.length; i++) {
        if (this.pending[i].clientMsgId === clientMsgId) return this.pending[i];
      }
      return null;
    },

    _acknowledged: function (clientMsgId) {
      var before = this.pending.length;
      this.pending = this.pending.filter(function (t) { return t.clientMsgId !== clientMsgId; });
      if (this.pending.length !== before) this._savePending();
    },

    _loadPending: function () {
      try {
        var saved = JSON.parse(global.localStorage.getItem(this.storageKey) || "[]");
        this.pending = saved.map(function (t) {
          return { clientMsgId: t.clientMsgId, content: t.content, state: "sending" };
        });
      } catch (error) {
        this.pending = [];
      }
    },

    _savePending: function () {
      try {
        var unsent = this.pending.filter(function (t) { return t.state === "sending"; });
        global.localStorage.setItem(this.storageKey, JSON.stringify(unsent.map(function (t) {
          return { clientMsgId: t.clientMsgId, content: t.content };
        })));
      } catch (error) {
        // Storage may be full or disabled: the turns still go out from memory.
      }
    },

    _loadOlder: function () {
      // Past the replay cap the server sends only the newest rows; fetch the rest.
      var self = this;
      var first = Infinity;
      this.messages.forEach(function (m, seq) { if (seq > self.lastSeq) first = Math.min(first, seq); });
      var after = this.lastSeq;
      fetch(this.url + "/api/conversations/" + encodeURIComponent(this.conversationId) +
            "/messages?after_seq=" + after + "&limit=1000", {
        headers: { Authorization: "Bearer " + this.token },
      }).then(function (response) { return response.json(); }).then(function (body) {
        body.messages.forEach(function (m) {
          if (!self.messages.has(m.seq) && m.seq < first) {
            self._hold({ seq: m.seq, id: m.id, role: m.role, content: m.content,
                         status: m.status, clientMsgId: m.client_msg_id || null,
                         at: new Date(m.created_at) });
          }
        });
        self._render();
      }).catch(function () {});
    },

    // -- Timers and browser events ----------------------------------------------------

    _later: function (name, delay, callback) {
      this._clear(name);
      this.timers[name] = setTimeout(callback, delay);
    },

    _clear: function (name) {
      if (this.timers[name]) clearTimeout(this.timers[name]);
      delete this.timers[name];
    },

    _listen: function () {
      var self = this;
      this._onOnline = function () {
        self._clear("reconnect");
        if (!self.ws) { self.attempt = 0; self._connect(); }
      };
      this._onOffline = function () {
        self._clear("reconnect");
        self._drop(4000);
        self._status("offline", self._t("offline"));
        self._render();
      };
      global.addEventListener("online", this._onOnline);
      global.addEventListener("offline", this._onOffline);
    },

    // -- View -----------------------------------------------------------------------

    _t: function (key, values) {
      return String(this.texts[key]).replace(/\{(\w+)\}/g, function (whole, name) {
        return values && name in values ? String(values[name]) : whole;
      });
    },

    _build: function () {
      var id = "tc-" + newClientMsgId().slice(0, 8);
      this.root.textContent = "";
      this.rendered = new Map();
      // An element given a height (empty, it still has one) is filled; else the widget
      // keeps a fixed height of its own. Either way the transcript scrolls inside it.
      var fill = this.root.clientHeight > 0;
      var box = el("section", fill ? "tc tc-fill" : "tc", {
        "aria-label": this.title, lang: this.locale,
        dir: RIGHT_TO_LEFT.indexOf(this.locale) >= 0 ? "rtl" : "ltr",
      });
      var head = el("header", "tc-head");
      var title = el("h2", "tc-title");
      title.textContent = this.title;
      this.statusEl = el("span", "tc-status", { role: "status", "data-state": "connecting" });
      head.appendChild(title);
      head.appendChild(this.statusEl);
      this.progressEl = el("div", "tc-progress", {
        role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": "0",
        "aria-label": this._t("masteryScore"),
      });
      this.progressText = el("span", "tc-progress-text");
      var track = el("div", "tc-progress-track");
      this.progressFill = el("div", "tc-progress-fill");
      track.appendChild(this.progressFill);
      this.progressEl.appendChild(this.progressText);
      this.progressEl.appendChild(track);
      var transcript = el("div", "tc-transcript");
      this.logEl = el("div", "tc-log", {
        role: "log", "aria-live": "off", "aria-label": this._t("conversation"), tabindex: "0",
      });
      // Shown when the student has scrolled up and something new arrived below.
      this.jumpButton = el("button", "tc-jump", { type: "button" });
      this.jumpButton.textContent = this._t("jump");
      this.jumpButton.hidden = true;
      transcript.appendChild(this.logEl);
      transcript.appendChild(this.jumpButton);
      this.announceEl = el("div", "tc-announce", { "aria-live": "polite", "aria-atomic": "true" });
      this.resultEl = el("div", "tc-result", { tabindex: "-1" });
      this.resultText = el("p", "tc-result-text", { role: "status" });
      this.attemptsEl = el("div", "tc-attempts");
      this.newAttemptButton = el("button", "tc-new-attempt", { type: "button" });
      this.newAttemptButton.textContent = this._t("newAttempt");
      this.resultEl.appendChild(this.resultText);
      this.resultEl.appendChild(this.attemptsEl);
      this.resultEl.appendChild(this.newAttemptButton);
      this.resultEl.hidden = true;
      var form = el("form", "tc-composer");
      var label = el("label", "tc-label", { for: id });
      label.textContent = this._t("answerLabel");
      this.input = el("textarea", "tc-input", {
        id: id, rows: "2", maxlength: String(MAX_CONTENT), placeholder: this._t("placeholder"),
      });
      // Shown near the limit only: how much more the answer may hold.
      this.countEl = el("p", "tc-count", { id: id + "-count", "aria-live": "polite" });
      this.countEl.hidden = true;
      this.input.setAttribute("aria-describedby", id + "-count");
      this.sendButton = el("button", "tc-send", { type: "submit" });
      this.sendButton.textContent = this._t("send");
      this.stopButton = el("button", "tc-stop", { type: "button" });
      this.stopButton.textContent = this._t("stop");
      this.stopButton.hidden = true;
      form.appendChild(label);
      form.appendChild(this.input);
      form.appendChild(this.countEl);
      form.appendChild(this.stopButton);
      form.appendChild(this.sendButton);
      form.hidden = this.readOnly;
      [head, this.progressEl, transcript, this.announceEl, this.resultEl, form].forEach(
        function (part) { box.appendChild(part); });
      this.root.appendChild(box);

      var self = this;
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        if (self.send(self.input.value)) {
          self.input.value = "";
          self._count();
          self._jump(); // the student's own turn brings the transcript to its end
        }
      });
      this.input.addEventListener("input", function () { self._count(); });
      this.input.addEventListener("keydown", function (event) {
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
          event.preventDefault();
          form.requestSubmit();
        }
      });
      this.stopButton.addEventListener("click", function () { self.stop(); });
      this.jumpButton.addEventListener("click", function () { self._jump(); });
      this.newAttemptButton.addEventListener("click", function () { self._newAttempt(); });
      this.logEl.addEventListener("scroll", function () {
        self.follow = self._atEnd();
        if (self.follow) self.jumpButton.hidden = true;
      });
      this.logEl.addEventListener("click", function (event) {
        var again = event.target.closest && event.target.closest(".tc-ask-again");
        if (again) { self.send(self._t("askAgainText")); return; }
        var retry = event.target.closest && event.target.closest(".tc-retry");
        if (!retry) return;
        var turn = self._pendingTurn(retry.getAttribute("data-client-msg-id"));
        if (turn) { self._transmit(turn); self._savePending(); self._render(); }
      });
    },

    _atEnd: function () {
      var log = this.logEl;
      return log.scrollHeight - log.scrollTop - log.clientHeight <= FOLLOW_WITHIN_PX;
    },

    _jump: function () {
      this.follow = true;
      this.jumpButton.hidden = true;
      this.logEl.scrollTop = this.logEl.scrollHeight;
    },

    _status: function (state, text) {
      this.statusEl.setAttribute("data-state", state);
      this.statusEl.textContent = text;
      this.onEvent({ type: "state", state: state });
    },

    _progress: function (score, done, total) {
      var value = Math.max(0, Math.min(100, Number(score) || 0));
      // Items done stay shown until the end (a completion's frame carries no count).
      if (total) { this.itemsDone = done; this.itemsTotal = total; }
      this.progressEl.setAttribute("aria-valuenow", String(value));
      this.progressFill.style.width = value + "%";
      var text = this._t("mastery", { score: percent(value) });
      if (this.itemsTotal) {
        text += " · " + this._t("itemsDone", { done: this.itemsDone, total: this.itemsTotal });
      }
      this.progressText.textContent = text;
      this.progressEl.setAttribute("aria-valuetext", text);
    },

    _count: function () {
      var used = Array.from(this.input.value).length;
      var near = used >= COUNT_FROM * MAX_CONTENT;
      var numbers = { used: used.toLocaleString(this.locale),
                      limit: MAX_CONTENT.toLocaleString(this.locale) };
      this.countEl.hidden = !near;
      this.countEl.setAttribute("data-full", used >= MAX_CONTENT ? "true" : "false");
      this.countEl.textContent = !near ? "" :
        this._t(used >= MAX_CONTENT ? "countFull" : "count", numbers);
    },

    _announce: function (text) {
      this.announceEl.textContent = text;
    },

    _typeset: function () {
      // TeX through KaTeX once it has loaded; until then (and if it cannot load) as written.
      var self = this;
      return function (tex, display) {
        if (!global.katex) {
          self._loadMaths();
          return plainMaths(tex, display);
        }
        var holder = document.createElement(display ? "div" : "span");
        holder.className = display ? "tc-math tc-math-display" : "tc-math";
        try {
          global.katex.render(tex, holder, {
            displayMode: display, throwOnError: false, trust: false, maxSize: 50, maxExpand: 500,
          });
        } catch (error) {
          return plainMaths(tex, display);
        }
        return holder;
      };
    },

    _loadMaths: function () {
      if (TutorChatWidget.maths) return;
      var self = this;
      var base = this.url + "/widget/katex/";
      var sheet = el("link", "", { rel: "stylesheet", href: base + "katex.min.css" });
      var script = el("script", "", { src: base + "katex.min.js" });
      TutorChatWidget.maths = script;
      script.addEventListener("load", function () {
        // Typeset what is already shown: every reply is built again.
        self.rendered.forEach(function (entry) { entry.text = null; });
        self._render();
      });
      document.head.appendChild(sheet);
      document.head.appendChild(script);
    },

    _render: function () {
      if (this.frame) return;
      var self = this;
      var schedule = global.requestAnimationFrame || function (f) { return setTimeout(f, 16); };
      this.frame = schedule(function () { self.frame = null; self._paint(); });
    },

    _paint: function () {
      if (this.destroyed) return;
      var follow = this.follow;
      var before = this.logEl.scrollHeight;
      var rows = [];
      Array.from(this.messages.keys()).sort(function (a, b) { return a - b; }).forEach(function (seq) {
        var m = this.messages.get(seq);
        if (m.role !== "system") rows.push({ key: "s" + seq, message: m });
      }, this);
      this.pending.forEach(function (turn) {
        rows.push({ key: "p" + turn.clientMsgId, turn: turn });
      });
      var keep = new Set(rows.map(function (r) { return r.key; }));
      this.rendered.forEach(function (entry, key) {
        if (!keep.has(key)) { entry.element.remove(); this.rendered.delete(key); }
      }, this);
      var previous = null;
      rows.forEach(function (row) {
        var entry = this.rendered.get(row.key) || this._row(row);
        this._update(entry, row);
        var expected = previous ? previous.nextSibling : this.logEl.firstChild;
        if (expected !== entry.element) this.logEl.insertBefore(entry.element, expected);
        previous = entry.element;
      }, this);
      var streaming = this._streamingReply();
      this.stopButton.hidden = !streaming || !!this.completed;
      this.logEl.setAttribute("aria-busy", streaming ? "true" : "false");
      var closed = !!(this.completed || this.fatal);
      this.input.disabled = closed;
      this.sendButton.disabled = closed;
      if (this.focusInput && !closed) this.input.focus({ preventScroll: true });
      this.focusInput = false;
      if (this.completed) this._paintResult();
      if (follow) {
        this.logEl.scrollTop = this.logEl.scrollHeight;
      } else if (this.logEl.scrollHeight !== before) {
        this.jumpButton.hidden = false;
      }
    },

    _paintResult: function () {
      var passed = this.completed.passed;
      if (passed === undefined && this.attempts) {
        var mine = this.attempts.attempts.filter(function (a) { return a.id === this.conversationId; }, this)[0];
        if (mine) passed = mine.passed;
      }
      var result = this._t(this.completed.status === "abandoned" ? "abandoned" : "complete",
                           { score: percent(this.completed.mastery_score) });
      if (passed !== undefined) result = this._t(passed ? "passed" : "notPassed", { result: result });
      this.resultEl.hidden = false;
      this.resultEl.setAttribute("data-passed", passed ? "true" : "false");
      this.resultText.textContent = result;
      this._paintAttempts();
      if (this.focusResult) {
        this.focusResult = false;
        this.resultEl.focus({ preventScroll: true });
      }
    },

    _paintAttempts: function () {
      var attempts = this.attempts;
      this.newAttemptButton.hidden = !(attempts && attempts.can_start);
      this.attemptsEl.textContent = "";
      if (!attempts || attempts.attempts.length < 2) return;
      var heading = el("p", "tc-attempts-title");
      heading.textContent = this._t("attempts");
      var list = el("ul", "tc-attempts-list");
      var total = attempts.attempts.length;
      attempts.attempts.forEach(function (attempt, index) {
        var item = el("li", attempt.id === this.conversationId ? "tc-attempt-current" : "");
        var number = total - index;
        var text = attempt.status === "active" ? this._t("attemptOpen", { number: number }) :
          this._t(attempt.passed ? "passed" : "notPassed", {
            result: this._t("attempt", { number: number, score: percent(attempt.mastery_score) }),
          });
        item.textContent = text;
        list.appendChild(item);
      }, this);
      this.attemptsEl.appendChild(heading);
      this.attemptsEl.appendChild(list);
    },

    _row: function (row) {
      var element = el("div", "tc-msg");
      // Each message reads in its own direction: English in an Arabic page, say.
      var body = el("div", "tc-body", { dir: "auto" });
      var foot = el("div", "tc-foot");
      var meta = el("div", "tc-meta");
      var time = el("time", "tc-time");
      foot.appendChild(meta);
      foot.appendChild(time);
      element.appendChild(body);
      element.appendChild(foot);
      var entry = { element: element, body: body, meta: meta, time: time, text: null, state: null };
      this.rendered.set(row.key, entry);
      return entry;
    },

    _update: function (entry, row) {
      var role, text, state, label;
      if (row.turn) {
        role = "user"; text = row.turn.content; state = row.turn.state;
        label = state === "failed" ? this._t("notSent", { reason: row.turn.error || "error" }) :
          this._t(this.ws && this.conversation ? "sending" : "waiting");
      } else {
        var m = row.message;
        role = m.role; text = m.content;
        state = m.role === "user" ? "stored" : m.status;
        label = { stored: "sent", streaming: "typing", complete: "", cancelled: "stopped",
                  error: "failedReply", interrupted: "interrupted" }[state];
        label = label ? this._t(label) : "";
        entry.element.setAttribute("data-seq", String(m.seq));
        if (m.at && entry.at !== m.at.getTime()) {
          entry.at = m.at.getTime();
          entry.time.setAttribute("datetime", m.at.toISOString());
          entry.time.textContent = m.at.toLocaleTimeString(this.locale, { hour: "2-digit", minute: "2-digit" });
        }
      }
      entry.element.className = "tc-msg tc-" + role;
      entry.element.setAttribute("data-state", state);
      if (entry.text !== text) {
        entry.body.textContent = "";
        entry.body.appendChild(role === "assistant" ? renderMarkdown(text, this._typeset()) :
                               document.createTextNode(text));
        entry.text = text;
      }
      // A reply that broke off, with nothing after it: the student may not have seen the
      // question. The server grades no turn after such a reply and asks again.
      var last = !row.turn && role === "assistant" && row.message.seq === this.lastSeq &&
        this.pending.length === 0 && !this.completed;
      var broke = last && state === "error";
      // A reply the student stopped, with nothing after it: say what happens next.
      if (last && state === "cancelled") label = this._t("stoppedGuidance");
      var key = state + "|" + label + "|" + broke;
      if (entry.state !== key) {
        entry.meta.textContent = label || "";
        if (broke) {
          var again = el("button", "tc-ask-again", { type: "button" });
          again.textContent = this._t("askAgain");
          entry.meta.appendChild(document.createTextNode(" "));
          entry.meta.appendChild(again);
        }
        if (row.turn && state === "failed") {
          var retry = el("button", "tc-retry", { type: "button", "data-client-msg-id": row.turn.clientMsgId });
          retry.textContent = this._t("retry");
          entry.meta.appendChild(document.createTextNode(" "));
          entry.meta.appendChild(retry);
        }
        entry.state = key;
      }
    },
  };

  global.TutorChat = {
    mount: function (root, options) { return new TutorChatWidget(root, options); },
    renderMarkdown: renderMarkdown,
    percent: percent,
    messages: MESSAGES,
  };
})(window);
