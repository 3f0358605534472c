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
 *   Markdown subset (paragraphs, lists, code, emphasis) is built as DOM nodes.
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
  var STOPPED_GUIDANCE = "Stopped. Answer when you are ready: your next message is taken " +
    "as your answer to what the tutor asked.";

  // Every score the student sees, as the server writes it in the tutor's words: a whole
  // percent, halves rounded up (66.67 is 67%).
  function percent(value) { return Math.floor(Number(value) + 0.5) + "%"; }
  var FATAL_CLOSES = {
    4401: "Your session has expired. Reload the page to sign in again.",
    4403: "This conversation belongs to someone else.",
    4404: "This conversation does not exist.",
  };

  // ---- Text as DOM: a safe Markdown subset -------------------------------------------

  function inline(text) {
    // `code`, **strong** and *em*; everything else is a text node. (Not _em_: snake_case
    // and __dunder__ names are common in answers about code.)
    var fragment = document.createDocumentFragment();
    var pattern = /(`[^`\n]+`|\*\*[^*\n]+\*\*|\*[^*\s][^*\n]*\*)/g;
    var last = 0;
    var match;
    while ((match = pattern.exec(text)) !== null) {
      if (match.index > last) {
        fragment.appendChild(document.createTextNode(text.slice(last, match.index)));
      }
      var token = match[0];
      var element;
      if (token[0] === "`") {
        element = document.createElement("code");
        element.textContent = token.slice(1, -1);
      } else if (token.slice(0, 2) === "**") {
        element = document.createElement("strong");
        element.textContent = token.slice(2, -2);
      } else {
        element = document.createElement("em");
        element.textContent = token.slice(1, -1);
      }
      fragment.appendChild(element);
      last = match.index + token.length;
    }
    if (last < text.length) fragment.appendChild(document.createTextNode(text.slice(last)));
    return fragment;
  }

  function renderMarkdown(text) {
    var fragment = document.createDocumentFragment();
    var blocks = text.split(/\n{2,}/);
    for (var i = 0; i < blocks.length; i++) {
      var block = blocks[i];
      if (!block.trim()) continue;
      var lines = block.split("\n");
      if (/^```/.test(block)) {
        var pre = document.createElement("pre");
        var code = document.createElement("code");
        code.textContent = lines.slice(1, /```\s*$/.test(block) ? -1 : undefined).join("\n");
        pre.appendChild(code);
        fragment.appendChild(pre);
      } else if (lines.every(function (l) { return /^\s*[-*] /.test(l); })) {
        fragment.appendChild(list("ul", lines, /^\s*[-*] /));
      } else if (lines.every(function (l) { return /^\s*\d+[.)] /.test(l); })) {
        fragment.appendChild(list("ol", lines, /^\s*\d+[.)] /));
      } else {
        var paragraph = document.createElement("p");
        lines.forEach(function (line, n) {
          if (n > 0) paragraph.appendChild(document.createElement("br"));
          paragraph.appendChild(inline(line));
        });
        fragment.appendChild(paragraph);
      }
    }
    return fragment;
  }

  function list(tag, lines, marker) {
    var element = document.createElement(tag);
    lines.forEach(function (line) {
      var item = document.createElement("li");
      item.appendChild(inline(line.replace(marker, "")));
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
    this.conversationId = options.conversationId;
    this.token = options.token;
    // Called for a fresh token when the server closes the socket because the token
    // expired (4401): a function returning the token, or a promise of it.
    this.getToken = options.getToken || null;
    this.renewals = 0; // fresh tokens asked for since the last welcome
    this.title = options.title || "Tutor";
    this.onEvent = options.onEvent || function () {};
    this.storageKey = "tutorchat:pending:" + this.conversationId;

    this.messages = new Map(); // seq -> {seq, id, role, content, status, clientMsgId}
    this.replySeq = new Map(); // assistant message id -> seq
    this.pending = []; // turns not yet acknowledged: {clientMsgId, content, state, error}
    this.lastSeq = 0; // every message up to here is held complete
    this.conversation = null;
    this.completed = null;
    this.fatal = null;
    this.ws = null;
    this.attempt = 0;
    this.replayLeft = 0;
    this.timers = {};
    this.destroyed = false;
    this.rendered = new Map();

    this._loadPending();
    this._build();
    this._listen();
    this._connect();
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

    _connect: function () {
      if (this.destroyed || this.fatal || this.completed) return;
      this._status("connecting", "Connecting…");
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
        this.fatal = FATAL_CLOSES[code];
        this._status("stopped", this.fatal);
        this._render();
        return;
      }
      if (this.completed) {
        this._status("done", "Completed");
        return;
      }
      if (global.navigator && global.navigator.onLine === false) {
        this._status("offline", "Offline: your answers will be sent when you reconnect.");
        return; // the online event reconnects
      }
      // Full jitter: a whole class reconnecting after a server restart spreads out.
      var ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * Math.pow(2, this.attempt));
      var delay = Math.random() * ceiling;
      this.attempt += 1;
      this._status("reconnecting", "Reconnecting…");
      this._later("reconnect", delay, this._connect.bind(this));
    },

    _renew: function () {
      // The token expired: ask the page for a fresh one, then resume from lastSeq.
      var self = this;
      this._status("reconnecting", "Reconnecting…");
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
      this._status("connected", "Connected");
      this._progress(frame.conversation.mastery_score);
      if (!frame.recovered) this._loadOlder();
      if (frame.conversation.status !== "active" && !this.completed) {
        this.completed = { status: frame.conversation.status, mastery_score: frame.conversation.mastery_score };
      }
      if (this.completed) this._status("done", "Completed");
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
      });
      if (frame.role === "user" && frame.client_msg_id) this._acknowledged(frame.client_msg_id);
      if (this.replayLeft > 0 && --this.replayLeft === 0) this._replayed();
      this._render();
    },

    _ack: function (frame) {
      var turn = this._pendingTurn(frame.client_msg_id);
      var content = turn ? turn.content : (this.messages.get(frame.seq) || {}).content || "";
      this._hold({
        seq: frame.seq, id: frame.message_id, role: "user", content: content,
        status: "complete", clientMsgId: frame.client_msg_id,
      });
      this._acknowledged(frame.client_msg_id);
      this._render();
    },

    _start: function (frame) {
      this._hold({ seq: frame.seq, id: frame.message_id, role: "assistant", content: "", status: "streaming" });
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
      this.completed = frame;
      this._progress(frame.mastery_score);
      this.pending.forEach(function (turn) {
        if (turn.state === "sending") { turn.state = "failed"; turn.error = "The assessment is over."; }
      });
      this._savePending();
      this._status("done", "Completed");
      this._announce("Assessment complete: " + percent(frame.mastery_score) + ".");
      this._render();
    },

    _error: function (frame) {
      var turn = frame.ref && this._pendingTurn(frame.ref);
      if (turn) {
        turn.state = "failed";
        turn.error = frame.code === "rate_limited" ? "Too fast: wait a moment, then retry." : frame.message;
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
                         status: m.status, clientMsgId: m.client_msg_id || null });
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
        self._status("offline", "Offline: your answers will be sent when you reconnect.");
        self._render();
      };
      global.addEventListener("online", this._onOnline);
      global.addEventListener("offline", this._onOffline);
    },

    // -- View -----------------------------------------------------------------------

    _build: function () {
      var id = "tc-" + newClientMsgId().slice(0, 8);
      this.root.textContent = "";
      var box = el("section", "tc", { "aria-label": this.title });
      var head = el("header", "tc-head");
      var title = el("h2", "tc-title");
      title.textContent = this.title;
      this.statusEl = el("span", "tc-status", { role: "status", "data-state": "connecting" });
      head.appendChild(title);
      head.appendChild(this.statusEl);
      this.progressEl = el("div", "tc-progress", {
        role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": "0",
        "aria-label": "Mastery score",
      });
      this.progressFill = el("div", "tc-progress-fill");
      this.progressText = el("span", "tc-progress-text");
      this.progressEl.appendChild(this.progressFill);
      this.progressEl.appendChild(this.progressText);
      this.logEl = el("div", "tc-log", { role: "log", "aria-live": "off", "aria-label": "Conversation" });
      this.announceEl = el("div", "tc-announce", { "aria-live": "polite", "aria-atomic": "true" });
      this.resultEl = el("div", "tc-result", { role: "status" });
      this.resultEl.hidden = true;
      var form = el("form", "tc-composer");
      var label = el("label", "tc-label", { for: id });
      label.textContent = "Your answer (Enter sends, Shift+Enter starts a new line)";
      this.input = el("textarea", "tc-input", {
        id: id, rows: "2", maxlength: String(MAX_CONTENT), placeholder: "Type your answer",
      });
      // Shown near the limit only: how much more the answer may hold.
      this.countEl = el("p", "tc-count", { id: id + "-count", "aria-live": "polite" });
      this.countEl.hidden = true;
      this.input.setAttribute("aria-describedby", id + "-count");
      this.sendButton = el("button", "tc-send", { type: "submit" });
      this.sendButton.textContent = "Send";
      this.stopButton = el("button", "tc-stop", { type: "button" });
      this.stopButton.textContent = "Stop";
      this.stopButton.hidden = true;
      form.appendChild(label);
      form.appendChild(this.input);
      form.appendChild(this.countEl);
      form.appendChild(this.stopButton);
      form.appendChild(this.sendButton);
      [head, this.progressEl, this.logEl, this.announceEl, this.resultEl, form].forEach(
        function (part) { box.appendChild(part); });
      this.root.appendChild(box);

      var self = this;
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        if (self.send(self.input.value)) { self.input.value = ""; self._count(); }
      });
      this.input.addEventListener("input", function () { self._count(); });
      this.input.addEventListener("keydown", function (event) {
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
          event.preventDefault();
          form.requestSubmit();
        }
      });
      this.stopButton.addEventListener("click", function () { self.stop(); });
      this.logEl.addEventListener("click", function (event) {
        var again = event.target.closest && event.target.closest(".tc-ask-again");
        if (again) { self.send(ASK_AGAIN); return; }
        var retry = event.target.closest && event.target.closest(".tc-retry");
        if (!retry) return;
        var turn = self._pendingTurn(retry.getAttribute("data-client-msg-id"));
        if (turn) { self._transmit(turn); self._savePending(); self._render(); }
      });
      this._progress(0);
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
      var text = "Mastery " + percent(value);
      if (this.itemsTotal) text += " · " + this.itemsDone + " of " + this.itemsTotal + " done";
      this.progressText.textContent = text;
      this.progressEl.setAttribute("aria-valuetext", text);
    },

    _count: function () {
      var used = Array.from(this.input.value).length;
      var near = used >= COUNT_FROM * MAX_CONTENT;
      this.countEl.hidden = !near;
      this.countEl.setAttribute("data-full", used >= MAX_CONTENT ? "true" : "false");
      this.countEl.textContent = near ? used.toLocaleString("en") + " of " +
        MAX_CONTENT.toLocaleString("en") + " characters" +
        (used >= MAX_CONTENT ? ": the most an answer can hold" : "") : "";
    },

    _announce: function (text) {
      this.announceEl.textContent = text;
    },

    _render: function () {
      if (this.frame) return;
      var self = this;
      var schedule = global.requestAnimationFrame || function (f) { return setTimeout(f, 16); };
      this.frame = schedule(function () { self.frame = null; self._paint(); });
    },

    _paint: function () {
      if (this.destroyed) return;
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
      if (this.completed) {
        var passed = this.completed.passed;
        this.resultEl.hidden = false;
        this.resultEl.setAttribute("data-passed", passed ? "true" : "false");
        this.resultEl.textContent = (this.completed.status === "abandoned" ? "Closed for inactivity. " :
          "Assessment complete. ") + "Score: " + percent(this.completed.mastery_score) +
          (passed === undefined ? "" : passed ? " (passed)" : " (not passed yet)");
      }
      if (rows.length && this.logEl.scrollHeight - this.logEl.scrollTop - this.logEl.clientHeight < 120) {
        this.logEl.scrollTop = this.logEl.scrollHeight;
      }
    },

    _row: function (row) {
      var element = el("div", "tc-msg");
      var body = el("div", "tc-body");
      var meta = el("div", "tc-meta");
      element.appendChild(body);
      element.appendChild(meta);
      var entry = { element: element, body: body, meta: meta, text: null, state: null };
      this.rendered.set(row.key, entry);
      return entry;
    },

    _update: function (entry, row) {
      var role, text, state, label;
      if (row.turn) {
        role = "user"; text = row.turn.content; state = row.turn.state;
        label = state === "failed" ? "Not sent: " + (row.turn.error || "error") :
          this.ws && this.conversation ? "Sending…" : "Waiting for connection…";
      } else {
        var m = row.message;
        role = m.role; text = m.content;
        state = m.role === "user" ? "stored" : m.status;
        label = { stored: "Sent", streaming: "Typing…", complete: "", cancelled: "Stopped",
                  error: "The tutor could not finish this reply.",
                  interrupted: "Interrupted" }[state];
        entry.element.setAttribute("data-seq", String(m.seq));
      }
      entry.element.className = "tc-msg tc-" + role;
      entry.element.setAttribute("data-state", state);
      if (entry.text !== text) {
        entry.body.textContent = "";
        entry.body.appendChild(role === "assistant" ? renderMarkdown(text) : document.createTextNode(text));
        entry.text = text;
      }
      // A reply that broke off, with nothing after it: the student may not have seen the
      // question. The server grades no turn after such a reply and asks again.
      var last = !row.turn && role === "assistant" && row.message.seq === this.lastSeq &&
        this.pending.length === 0 && !this.completed;
      var broke = last && state === "error";
      // A reply the student stopped, with nothing after it: say what happens next.
      if (last && state === "cancelled") label = STOPPED_GUIDANCE;
      var key = state + "|" + label + "|" + broke;
      if (entry.state !== key) {
        entry.meta.textContent = label || "";
        if (broke) {
          var again = el("button", "tc-ask-again", { type: "button" });
          again.textContent = "Ask again";
          entry.meta.appendChild(document.createTextNode(" "));
          entry.meta.appendChild(again);
        }
        if (row.turn && state === "failed") {
          var retry = el("button", "tc-retry", { type: "button", "data-client-msg-id": row.turn.clientMsgId });
          retry.textContent = "Retry";
          entry.meta.appendChild(document.createTextNode(" "));
          entry.meta.appendChild(retry);
        }
        entry.state = key;
      }
    },
  };

  var ASK_AGAIN = "Please ask the question again.";

  global.TutorChat = {
    mount: function (root, options) { return new TutorChatWidget(root, options); },
    renderMarkdown: renderMarkdown,
  };
})(window);
