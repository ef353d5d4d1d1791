/* The placeholder sidebar (sandbox mode): ask `ww` which conversation this is, then show the
 * service's record of that customer or group. All data is inserted with textContent. */
(function () {
  "use strict";
  var root = document.getElementById("sidebar");
  var content = document.getElementById("content");
  var statusEl = document.getElementById("status");
  var sendButton = document.getElementById("send-test");
  var sendResult = document.getElementById("send-result");
  var api = root.dataset.api;
  var retryTimer = null;

  var STATUS = {active: "跟进中", deleted_by_staff: "成员已删除客户", deleted_by_customer: "客户已删除成员",
                transferred: "已转接"};
  var KINDS = {relation_added: "添加了成员", relation_updated: "资料或标签变更", relation_deleted: "关系结束",
               customer_updated: "客户资料变更", joined_group: "加入客户群", left_group: "退出客户群",
               group_dismissed: "客户群解散", transfer_failed: "转接失败"};

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function when(iso) {
    return iso ? new Date(iso).toLocaleString("zh-CN", {hour12: false}) : "—";
  }

  function setStatus(text, isError) {
    statusEl.textContent = text;
    statusEl.className = isError ? "error" : "muted";
  }

  function section(title, items) {
    var box = el("section", "card");
    box.appendChild(el("h2", null, title));
    if (!items.length) box.appendChild(el("p", "muted", "无"));
    items.forEach(function (item) { box.appendChild(item); });
    return box;
  }

  function getJson(path) {
    return fetch(api + path, {headers: {Accept: "application/json"}}).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (body) {
        return {status: resp.status, body: body};
      });
    });
  }

  function notSynced(what, id, again) {
    content.replaceChildren();
    var box = el("section", "card pending");
    box.appendChild(el("h2", null, what + "尚未同步"));
    box.appendChild(el("p", null, "服务里还没有这条记录（" + id + "）。模拟器预置的客户和群只存在于模拟器中，" +
      "要等同步或回调带来：例如在沙盒页让客户添加成员、成员编辑该客户，或客户入群。"));
    box.appendChild(el("p", "muted", "每 3 秒自动重试…"));
    content.appendChild(box);
    setStatus("");
    retryTimer = setTimeout(again, 3000);
  }

  function showCustomer(externalUserid) {
    return getJson("customers/" + encodeURIComponent(externalUserid) + "?timeline_limit=10").then(function (r) {
      if (r.status === 404) return notSynced("客户", externalUserid, function () { showCustomer(externalUserid); });
      if (r.status !== 200) throw new Error("读取客户失败（HTTP " + r.status + "）");
      var c = r.body;
      content.replaceChildren();
      var head = el("section", "card head");
      head.appendChild(el("div", "name", c.name || externalUserid));
      head.appendChild(el("div", "muted", (c.type === 2 ? "企业微信用户 @" + (c.corp_name || "") : "微信用户") +
                                          " · " + c.external_userid));
      content.appendChild(head);
      content.appendChild(section("跟进成员", (c.relations || []).map(function (rel) {
        var row = el("div", "row");
        var line = el("div");
        line.appendChild(el("strong", null, rel.staff_name || rel.userid));
        line.appendChild(el("span", "pill " + rel.status, STATUS[rel.status] || rel.status));
        row.appendChild(line);
        if (rel.remark) row.appendChild(el("div", null, "备注：" + rel.remark));
        row.appendChild(el("div", "muted", "添加于 " + when(rel.added_at) + (rel.state ? " · 渠道 " + rel.state : "")));
        var tags = el("div", "tags");
        (rel.tags || []).forEach(function (t) { tags.appendChild(el("span", "tag", t.name || t.tag_id)); });
        row.appendChild(tags);
        return row;
      })));
      content.appendChild(section("客户群", (c.groups || []).map(function (grp) {
        var row = el("div", "row");
        row.appendChild(el("span", null, grp.name || grp.chat_id));
        row.appendChild(el("span", "muted", grp.current ? " 在群中" : " 已退出"));
        return row;
      })));
      content.appendChild(section("最近动态", (c.timeline || []).map(function (t) {
        var row = el("div", "row");
        row.appendChild(el("span", "muted", when(t.occurred_at) + " "));
        row.appendChild(el("span", null, (t.userid ? t.userid + " · " : "") + (t.summary || KINDS[t.kind] || t.kind)));
        return row;
      })));
      setStatus("");
    });
  }

  function showGroup(chatId) {
    return getJson("groups/" + encodeURIComponent(chatId)).then(function (r) {
      if (r.status === 404) return notSynced("客户群", chatId, function () { showGroup(chatId); });
      if (r.status !== 200) throw new Error("读取客户群失败（HTTP " + r.status + "）");
      var grp = r.body;
      content.replaceChildren();
      var head = el("section", "card head");
      head.appendChild(el("div", "name", grp.name || "未命名群聊"));
      head.appendChild(el("div", "muted", grp.member_count + " 人 · 群主 " + (grp.owner || "—") +
                                          (grp.status === "dismissed" ? " · 已解散" : "")));
      if (grp.notice) head.appendChild(el("p", null, "群公告：" + grp.notice));
      content.appendChild(head);
      content.appendChild(section("群成员", (grp.members || []).map(function (m) {
        var row = el("div", "row");
        row.appendChild(el("span", null, m.name || m.member_id));
        row.appendChild(el("span", "muted", m.type === 1 ? " 成员" : " 客户"));
        return row;
      })));
      setStatus("");
    });
  }

  function fail(err) {
    setStatus((err && (err.errMsg || err.message)) || String(err), true);
  }

  function load() {
    clearTimeout(retryTimer);
    setStatus("正在读取当前会话…");
    ww.getContext().then(function (ctx) {
      if (ctx.entry === "single_chat_tools") {
        return ww.getCurExternalContact().then(function (r) { return showCustomer(r.userId); });
      }
      if (ctx.entry === "group_chat_tools") {
        return ww.getCurExternalChat().then(function (r) { return showGroup(r.chatId); });
      }
      content.replaceChildren();
      setStatus("当前入口不是客户会话（" + ctx.entry + "）");
    }).then(function () { sendButton.disabled = false; }, fail);
  }

  sendButton.addEventListener("click", function () {
    sendResult.textContent = "";
    ww.sendChatMessage({msgtype: "text", text: {content: "您好！这条消息来自侧边栏（沙盒）。"}}).then(
      function (r) { sendResult.textContent = "已发送：" + r.errMsg; },
      function (err) { sendResult.textContent = "发送失败：" + (err.errMsg || err); });
  });
  document.getElementById("reload").addEventListener("click", load);

  ww.register({
    corpId: root.dataset.corpId,
    agentId: Number(root.dataset.agentId),
    jsApiList: ["getContext", "getCurExternalContact", "getCurExternalChat", "sendChatMessage"],
    onAgentConfigSuccess: load,
    onConfigFail: fail,
    onAgentConfigFail: fail
  });
})();
