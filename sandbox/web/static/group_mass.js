/* The sandbox page's 「群主确认群发」 card: the chosen owner's unconfirmed group mass sends
 * (GET /sandbox/api/group-mass-sends?owner=) and a button to confirm each as that owner
 * (action owner_confirms_group_mass_send). Names and texts go in via textContent only. */
(function () {
  "use strict";
  var el = SB.el;
  var card = document.getElementById("group-mass");
  if (!card) return;
  var select = card.querySelector("select[name=owner]");
  var list = card.querySelector(".pending");
  var result = card.querySelector(".result");

  function render(rows) {
    list.replaceChildren();
    if (!rows.length) { list.appendChild(el("div", {class: "muted"}, "没有待确认的客户群群发")); return; }
    rows.forEach(function (row) {
      var item = el("div", {class: "entry"});
      item.appendChild(el("div", null, SB.name(row.owner) + " · " + row.msgid + " · " + SB.clock(row.create_time)));
      if (row.text && row.text.content) item.appendChild(el("div", {class: "bubble"}, row.text.content));
      (row.attachments || []).forEach(function (a) { item.appendChild(el("div", {class: "attachment"}, "[" + a.msgtype + "]")); });
      item.appendChild(el("div", {class: "muted"}, "发送到 " + row.chats.length + " 个群：" +
        row.chats.map(function (c) { return c.name || c.chat_id; }).join("、")));
      var button = el("button", {type: "button", class: "mini primary"}, "以群主身份确认发送");
      button.addEventListener("click", function () {
        button.disabled = true;
        SB.api("actions/owner_confirms_group_mass_send", {userid: row.owner, msgid: row.msgid}).then(function (r) {
          result.replaceChildren();
          if (!r.ok) {
            button.disabled = false;
            var errors = r.data.errors || {};
            result.appendChild(el("div", {class: "err"}, Object.keys(errors).map(function (k) { return errors[k]; }).join("；") || ("HTTP " + r.status)));
            return;
          }
          var done = (r.data.result.confirmed || [])[0] || {};
          result.appendChild(el("div", {class: "ok"}, "✓ 已发送 " + done.sent + " 个群，失败 " + done.not_friend +
            " 个，本月已达上限 " + done.quota_exceeded + " 个"));
          load();
        });
      });
      item.appendChild(button);
      list.appendChild(item);
    });
  }

  function load() {
    return SB.api("group-mass-sends?" + SB.qs({owner: select.value})).then(function (r) {
      render(r.ok ? r.data.group_mass_sends || [] : []);
    });
  }

  select.addEventListener("change", load);
  card.querySelector("[data-refresh]").addEventListener("click", load);
  setInterval(load, 5000);
  load();
})();
