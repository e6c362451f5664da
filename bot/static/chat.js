/* 安心 Anxin web chat. Every reply is built from DOM nodes with textContent: nothing a person or the server
   sends is ever parsed as HTML. The anonymous id is a random value in this browser's local storage; the
   server keeps only its HMAC. No cookies. Plain ES5 with XMLHttpRequest, for WeChat's in-app browser. */
(function () {
  "use strict";

  var UI = {
    "zh-Hans": {
      title: "安心", lang: "语言", forget: "删除我的记录", message: "你的问题", send: "发送", log: "对话",
      intro: "匿名咨询：不需要姓名或手机号。遇到暴力催收，先保护好自己。",
      hint: "按 Enter 发送，Shift+Enter 换行。", waiting: "正在回复…", copy: "复制", copied: "已复制",
      busy: "发得太快了，请 {s} 秒后再试。", failed: "没有连上，请检查网络后再试。", tooLong: "消息太长了，请分几次发。",
      you: "你说：", bot: "安心说：", feedback: "有帮助吗？"
    },
    "zh-Hant": {
      title: "安心", lang: "語言", forget: "刪除我的記錄", message: "你的問題", send: "發送", log: "對話",
      intro: "匿名諮詢：不需要姓名或手機號碼。遇到暴力催收，先保護好自己。",
      hint: "按 Enter 發送，Shift+Enter 換行。", waiting: "正在回覆…", copy: "複製", copied: "已複製",
      busy: "發得太快了，請 {s} 秒後再試。", failed: "沒有連上，請檢查網路後再試。", tooLong: "訊息太長了，請分幾次發。",
      you: "你說：", bot: "安心說：", feedback: "有幫助嗎？"
    },
    en: {
      title: "Anxin", lang: "Language", forget: "Forget me", message: "Your question", send: "Send", log: "Conversation",
      intro: "Anonymous advice: no name or phone number needed. Facing abusive debt collection? Keep yourself safe first.",
      hint: "Enter sends, Shift+Enter starts a new line.", waiting: "Replying…", copy: "Copy", copied: "Copied",
      busy: "Too fast: please try again in {s} seconds.", failed: "Could not connect; check the network and try again.",
      tooLong: "That message is too long; please send it in parts.", you: "You said:", bot: "Anxin said:",
      feedback: "Was this helpful?"
    }
  };
  var LANGS = ["zh-Hans", "zh-Hant", "en"];
  var KEY_ID = "anxin-chat-id";
  var KEY_LANG = "anxin-chat-lang";
  var memory = {};
  var busy = false;

  function byId(id) { return document.getElementById(id); }

  function load(key) {
    try { return window.localStorage.getItem(key) || memory[key] || null; } catch (e) { return memory[key] || null; }
  }
  function save(key, value) {
    memory[key] = value;
    try {
      if (value === null) { window.localStorage.removeItem(key); } else { window.localStorage.setItem(key, value); }
    } catch (e) { /* storage refused (a private window, an embedded frame): this page's memory keeps it */ }
    if (value === null) { delete memory[key]; }
  }

  function newId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    var out = "";
    for (var i = 0; i < bytes.length; i++) { out += ("0" + bytes[i].toString(16)).slice(-2); }
    return out;
  }
  function chatId() {
    var id = load(KEY_ID);
    if (!id || !/^[A-Za-z0-9_-]{16,64}$/.test(id)) { id = newId(); save(KEY_ID, id); }
    return id;
  }

  function initialLang() {
    var stored = load(KEY_LANG);
    if (LANGS.indexOf(stored) >= 0) { return stored; }
    var wanted = (navigator.language || "zh-CN").toLowerCase();
    if (/^zh-(tw|hk|mo|hant)/.test(wanted)) { return "zh-Hant"; }
    if (wanted.indexOf("zh") === 0) { return "zh-Hans"; }
    return wanted.indexOf("en") === 0 ? "en" : "zh-Hans";
  }
  var lang = initialLang();

  function words() { return UI[lang]; }

  function applyLang() {
    var w = words();
    document.documentElement.lang = lang;
    document.title = lang === "en" ? "Anxin 安心" : "安心 Anxin";
    byId("title").textContent = w.title;
    byId("lang-label").textContent = w.lang;
    byId("forget").textContent = w.forget;
    byId("intro").textContent = w.intro;
    byId("log-label").textContent = w.log;
    byId("message-label").textContent = w.message;
    byId("send").textContent = w.send;
    byId("hint").textContent = w.hint;
    byId("lang").value = lang;
  }

  function status(text) { byId("status").textContent = text || ""; }

  function hidden(text) {
    var span = document.createElement("span");
    span.className = "hidden";
    span.textContent = text;
    return span;
  }

  function showMine(text) {
    var item = document.createElement("div");
    item.className = "msg me";
    item.appendChild(hidden(words().you + " "));
    item.appendChild(document.createTextNode(text));
    byId("log").appendChild(item);
    item.scrollIntoView({ block: "end" });
  }

  function textWithLinks(parent, reply) {
    var parts = reply.parts || [{ text: reply.text }];
    for (var i = 0; i < parts.length; i++) {
      var part = parts[i];
      if (typeof part.tel === "string" && /^[0-9]{3,15}$/.test(part.tel)) {
        var link = document.createElement("a");
        link.href = "tel:" + part.tel;
        link.textContent = String(part.text);
        parent.appendChild(link);
      } else {
        parent.appendChild(document.createTextNode(String(part.text)));
      }
    }
  }

  function choiceButton(label, action, shown) {
    var button = document.createElement("button");
    button.type = "button";
    button.textContent = label;
    button.setAttribute("data-action", action);
    button.addEventListener("click", function () { send({ action: action }, shown === undefined ? label : shown); });
    return button;
  }

  function copyBlock(parent, text) {
    var pre = document.createElement("pre");
    pre.textContent = text;
    parent.appendChild(pre);
    var button = document.createElement("button");
    button.type = "button";
    button.textContent = words().copy;
    button.addEventListener("click", function () {
      var done = function () { button.textContent = words().copied; };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(done, function () { selectText(pre); });
      } else {
        selectText(pre);
      }
    });
    parent.appendChild(button);
  }
  function selectText(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function showReplies(replies) {
    var first = null;
    for (var i = 0; i < replies.length; i++) {
      var reply = replies[i];
      var item = document.createElement("div");
      item.className = "msg bot";
      item.tabIndex = -1;
      item.appendChild(hidden(words().bot + " "));
      textWithLinks(item, reply);
      if (reply.copy) { copyBlock(item, reply.copy); }
      if (reply.buttons && reply.buttons.length) {
        var group = document.createElement("div");
        group.className = "choices";
        group.setAttribute("role", "group");
        for (var j = 0; j < reply.buttons.length; j++) {
          group.appendChild(choiceButton(reply.buttons[j].label, reply.buttons[j].action));
        }
        item.appendChild(group);
      }
      if (reply.feedback && reply.feedback.length) {
        var rate = document.createElement("div");
        rate.className = "feedback";
        rate.setAttribute("role", "group");
        var question = document.createElement("span");
        question.textContent = reply.question || words().feedback;
        question.id = "feedback-" + Date.now() + "-" + i;
        rate.setAttribute("aria-labelledby", question.id);
        rate.appendChild(question);
        for (var k = 0; k < reply.feedback.length; k++) {
          rate.appendChild(choiceButton(reply.feedback[k].label, reply.feedback[k].action));
        }
        item.appendChild(rate);
      }
      byId("log").appendChild(item);
      if (first === null) { first = item; }
    }
    if (first !== null) { first.scrollIntoView({ block: "start" }); }
    return first;
  }

  function setBusy(value) {
    busy = value;
    byId("send").disabled = value;
    status(value ? words().waiting : "");
  }

  function post(payload, done) {
    var request = new XMLHttpRequest();
    request.open("POST", "api/chat", true);
    request.setRequestHeader("Content-Type", "application/json");
    request.onload = function () {
      var data = null;
      try { data = JSON.parse(request.responseText); } catch (e) { data = null; }
      if (request.status === 200 && data && data.replies) { done(null, data.replies); return; }
      if (request.status === 429) {
        done(words().busy.replace("{s}", request.getResponseHeader("Retry-After") || "10"));
      } else if (request.status === 413) {
        done(words().tooLong);
      } else {
        done(words().failed);
      }
    };
    request.onerror = function () { done(words().failed); };
    request.send(JSON.stringify(payload));
  }

  // `shown` is what the person sees as their own message (a button's label), or "" for nothing.
  function send(content, shown, after) {
    if (busy) { return; }
    var payload = { id: chatId(), lang: lang };
    if (content.action !== undefined) { payload.action = content.action; } else { payload.text = content.text; }
    if (shown) { showMine(shown); }
    var fromButton = content.action !== undefined;
    setBusy(true);
    post(payload, function (problem, replies) {
      setBusy(false);
      if (problem) { status(problem); return; }
      if (after) { after(); }
      var first = showReplies(replies);
      if (fromButton && first !== null) { first.focus(); }  // keyboard users continue from the new reply
    });
  }

  function forget() {
    send({ text: "/forget" }, "", function () {
      var log = byId("log");
      while (log.firstChild) { log.removeChild(log.firstChild); }
      save(KEY_ID, null);  // the next message starts with a new anonymous id
    });
  }

  function start() {
    applyLang();
    byId("lang").addEventListener("change", function (event) {
      var chosen = event.target.value;
      if (LANGS.indexOf(chosen) < 0 || chosen === lang) { return; }
      lang = chosen;
      save(KEY_LANG, lang);
      applyLang();
      send({ action: "l:" + lang }, "");  // the bot answers in this language from now on
    });
    byId("forget").addEventListener("click", forget);
    var box = byId("message");
    byId("form").addEventListener("submit", function (event) {
      event.preventDefault();
      var text = box.value.replace(/^\s+|\s+$/g, "");
      if (!text || busy) { return; }
      box.value = "";
      send({ text: text }, text);
      box.focus();
    });
    box.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {  // not while an IME is composing
        event.preventDefault();
        byId("form").requestSubmit ? byId("form").requestSubmit() : byId("send").click();
      }
    });
    send({ text: "/start" }, "");
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
