/* The simulated chat window: conversations of a staff member, a chat pane, and the service's
 * sidebar in an <iframe>, whose JS-SDK stand-in (ww-standin.js) calls us over postMessage.
 * We answer only frames from the service's origin; the frame learns ours from ?ww_parent=. */
(function () {
  "use strict";
  var el = SB.el;
  var root = document.getElementById("chat-app");
  var serviceUrl = root.dataset.serviceUrl, serviceOrigin = root.dataset.serviceOrigin;
  var frame = document.getElementById("sidebar-frame");
  var staffSelect = document.getElementById("staff");
  var list = document.getElementById("conv-list"), search = document.getElementById("conv-search");
  var messagesBox = document.getElementById("messages");
  var input = document.getElementById("input"), composer = document.getElementById("composer");
  var params = new URLSearchParams(window.location.search);
  var state = {staff: params.get("staff") || "", customer: params.get("customer") || "",
               chat: params.get("chat") || "", tab: params.get("chat") ? "groups" : "customers", page: 1};
  var sources = {customers: SB.customerSource(function () { return state.staff; }),
                 groups: SB.groupSource(function () { return state.staff; })};

  // ---- the conversation list ----------------------------------------------------------------------

  function loadList() {
    var pageInfo = document.getElementById("conv-page");
    if (!state.staff) { list.replaceChildren(el("li", {class: "muted"}, "先选择一位成员")); pageInfo.textContent = ""; return; }
    sources[state.tab](search.value.trim(), state.page).then(function (res) {
      var pages = Math.max(1, Math.ceil(res.total / res.pageSize));
      list.replaceChildren();
      res.items.forEach(function (item) {
        var key = state.tab === "customers" ? "customer" : "chat";
        var li = el("li", {class: state[key] === item.value ? "on" : ""});
        li.append(el("span", {class: "avatar"}, (item.row.name || "群").slice(0, 1)), el("span", null, item.label));
        li.addEventListener("click", function () { open(key, item.value); });
        list.appendChild(li);
      });
      if (!res.items.length) list.appendChild(el("li", {class: "muted"}, "没有结果"));
      pageInfo.textContent = state.page + "/" + pages;
      document.getElementById("conv-prev").disabled = state.page <= 1;
      document.getElementById("conv-next").disabled = state.page >= pages;
    });
  }

  // ---- the open conversation --------------------------------------------------------------------

  function key() { return "sandbox-chat:" + state.staff + ":" + (state.customer || state.chat); }

  function messages() { return JSON.parse(sessionStorage.getItem(key()) || "[]"); }

  function addMessage(text, via, theirs) {
    var all = messages();
    all.push({text: text, via: via || "", at: Date.now() / 1000, theirs: !!theirs});
    sessionStorage.setItem(key(), JSON.stringify(all.slice(-200)));
    drawMessages();
  }

  function drawMessages() {
    messagesBox.replaceChildren();
    messages().forEach(function (m) {
      var row = el("div", {class: m.theirs ? "line theirs" : "line mine"});
      var bubble = el("div", {class: "bubble"}, m.text);
      row.append(el("div", {class: "meta muted"}, SB.clock(m.at) + (m.via ? " · " + m.via : "")), bubble);
      messagesBox.appendChild(row);
    });
    messagesBox.scrollTop = messagesBox.scrollHeight;
  }

  function open(kind, id) {
    state.customer = kind === "customer" ? id : "";
    state.chat = kind === "chat" ? id : "";
    var query = {staff: state.staff};
    query[kind] = id;
    history.replaceState(null, "", "/chat?" + SB.qs(query));
    var title = document.getElementById("chat-title"), sub = document.getElementById("chat-sub");
    title.textContent = SB.names[id] || id;
    sub.textContent = "";
    SB.api(kind === "customer" ? "world/customers/" + encodeURIComponent(id) : "world/groups/" + encodeURIComponent(id))
      .then(function (r) {
        if (!r.ok) { sub.textContent = "（模拟器中没有：" + id + "）"; return; }
        if (kind === "customer") {
          var c = r.data.customer;
          title.textContent = c.name;
          sub.textContent = (c.type === 2 ? "@" + (c.corp_name || "企业微信") : "@微信") + " · " + c.external_userid;
        } else {
          title.textContent = r.data.group.name || "未命名群聊";
          sub.textContent = "(" + r.data.group.members + ") · " + id;
        }
      });
    input.disabled = composer.querySelector("button").disabled = false;
    asCustomer.disabled = kind !== "customer";
    drawMessages();
    document.cookie = "sandbox_staff=" + encodeURIComponent(state.staff) + "; path=/; SameSite=Lax";  // who the simulated OAuth signs in
    frame.src = serviceUrl + "/sidebar/?" + SB.qs({ww_parent: window.location.origin, sop_step: params.get("sop_step") || ""});
    loadList();
  }

  composer.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!input.value.trim()) return;
    addMessage(input.value.trim());
    input.value = "";
  });
  // The customer's reply goes through the simulator (action customer_replies): into the chat
  // archive, announced to the service with msgaudit_notify (the churn signals see a reply).
  var asCustomer = document.getElementById("as-customer");
  asCustomer.addEventListener("click", function () {
    var text = input.value.trim();
    if (!text || !state.customer) return;
    asCustomer.disabled = true;
    SB.api("actions/customer_replies", {userid: state.staff, external_userid: state.customer, text: text})
      .then(function (r) {
        asCustomer.disabled = false;
        if (!r.ok) {
          var errors = (r.data && r.data.errors) || {};
          document.getElementById("chat-sub").textContent = Object.keys(errors).map(function (k) { return errors[k]; })
            .join("；") || "HTTP " + r.status;
          return;
        }
        input.value = "";
        addMessage(text, "客户 · 已记入会话存档", true);
      });
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); composer.requestSubmit(); }
  });

  // ---- the JS-SDK stand-in's other end ------------------------------------------------------------

  var LABELS = {image: "图片", video: "视频", file: "文件", news: "图文", miniprogram: "小程序", link: "链接"};

  function answer(method, args) {
    var fail = function (why) { return {ok: false, result: {errMsg: method + ":fail " + why}}; };
    var ok = function (result) { result.errMsg = method + ":ok"; return {ok: true, result: result}; };
    if (!state.customer && !state.chat) return fail("no conversation");
    if (method === "getContext") return ok({entry: state.customer ? "single_chat_tools" : "group_chat_tools"});
    if (method === "getCurExternalContact") return state.customer ? ok({userId: state.customer}) : fail("not a single chat");
    if (method === "getCurExternalChat") return state.chat ? ok({chatId: state.chat}) : fail("not a group chat");
    if (method === "sendChatMessage") {
      var type = (args && args.msgtype) || "text";
      var body = (args && args[type]) || {};
      var text = type === "text" ? body.content : "[" + (LABELS[type] || type) + "] " +
                 (body.title || body.mediaId || body.mediaid || "");
      if (!text) return fail("empty message");
      addMessage(text, "经侧边栏发送");
      // Also into the simulator's feed (kind chat_message), where the sandbox page and tests see it.
      SB.api("chat-messages", {staff: state.staff, external_userid: state.customer, chat_id: state.chat,
                               text: text, message: args});
      return ok({});
    }
    return fail("not supported by the sandbox stand-in");
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== serviceOrigin || event.source !== frame.contentWindow) return;
    var data = event.data;
    if (!data || data.type !== "ww-standin:call") return;
    var reply = answer(data.method, data.args);
    event.source.postMessage({type: "ww-standin:reply", id: data.id, ok: reply.ok, result: reply.result},
                             serviceOrigin);
  });

  // ---- wiring -------------------------------------------------------------------------------------

  document.querySelectorAll("[data-tab]").forEach(function (button) {
    button.addEventListener("click", function () {
      state.tab = button.dataset.tab;
      state.page = 1;
      document.querySelectorAll("[data-tab]").forEach(function (b) { b.classList.toggle("on", b === button); });
      loadList();
    });
  });
  staffSelect.addEventListener("change", function () {
    state.staff = staffSelect.value;
    state.page = 1;
    loadList();
  });
  var timer = null;
  search.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { state.page = 1; loadList(); }, 250);
  });
  document.getElementById("conv-prev").addEventListener("click", function () { state.page -= 1; loadList(); });
  document.getElementById("conv-next").addEventListener("click", function () { state.page += 1; loadList(); });

  SB.loadStaff().then(function () {
    SB.fillStaff(staffSelect);
    staffSelect.value = state.staff;
    document.querySelectorAll("[data-tab]").forEach(function (b) { b.classList.toggle("on", b.dataset.tab === state.tab); });
    if (state.customer) open("customer", state.customer);
    else if (state.chat) open("chat", state.chat);
    else loadList();
  });
})();
