/* The sandbox page: forms that run actions (POST /sandbox/api/actions/<name>) and the live feed. */
(function () {
  "use strict";
  var el = SB.el;
  var pickers = [];
  var currentTags = {};   // edit form: tag ids the chosen relation has now

  // ---- forms ------------------------------------------------------------------------------------

  function v(form, field) {
    var input = form.elements[field];
    var value = input && input.value !== undefined ? input.value.trim() : "";
    return value === "" ? undefined : value;
  }

  function pick(form, fields) {
    var out = {};
    fields.forEach(function (f) { if (v(form, f) !== undefined) out[f] = v(form, f); });
    return out;
  }

  function checked(form, field) { return !!(form.elements[field] && form.elements[field].checked); }

  var BUILD = {
    add_customer: function (f) {
      var p = {welcome_code: checked(f, "welcome_code")};
      Object.assign(p, f.elements.via.value === "channel" ? pick(f, ["config_id"]) : pick(f, ["userid", "state"]));
      Object.assign(p, f.elements.who.value === "new" ? pick(f, ["name"]) : pick(f, ["external_userid"]));
      return p;
    },
    customer_deletes_staff: function (f) { return pick(f, ["userid", "external_userid"]); },
    staff_deletes_customer: function (f) { return pick(f, ["userid", "external_userid"]); },
    edit_customer: function (f) {
      var p = pick(f, ["userid", "external_userid", "remark"]);
      var on = Array.prototype.filter.call(f.querySelectorAll("[data-tags] input"), function (i) { return i.checked; })
        .map(function (i) { return i.value; });
      var add = on.filter(function (t) { return !currentTags[t]; });
      var remove = Object.keys(currentTags).filter(function (t) { return on.indexOf(t) < 0; });
      if (add.length) p.add_tags = add;
      if (remove.length) p.remove_tags = remove;
      return p;
    },
    join_group: function (f) {
      var p = pick(f, ["chat_id", "scene"]);
      if (v(f, "member_ids")) p.member_ids = [v(f, "member_ids")];
      return p;
    },
    leave_group: function (f) {
      var p = pick(f, ["chat_id"]);
      if (v(f, "member_ids")) p.member_ids = [v(f, "member_ids")];
      p.removed = checked(f, "removed");
      return p;
    },
    create_group: function (f) { var p = pick(f, ["owner", "name"]); p.name = p.name || ""; return p; },
    rename_group: function (f) { return pick(f, ["chat_id", "name"]); },
    dismiss_group: function (f) { return pick(f, ["chat_id"]); },
    staff_sends_app_message: function (f) { return pick(f, ["userid", "content"]); },
    staff_leaves: function (f) { return pick(f, ["userid"]); },
    complete_transfers: function (f, button) { return button && button.dataset.refuse ? {refuse: true} : {}; },
    customer_replies: function (f) { return pick(f, ["userid", "external_userid", "text"]); },
    staff_messages_customer: function (f) { return pick(f, ["userid", "external_userid", "text"]); },
    advance_time: function (f) { return {days: parseInt(v(f, "days") || "0", 10)}; },
    join_by_group_code: function (f) {
      var p = pick(f, ["config_id", "name"]);
      if (v(f, "capacity")) p.capacity = parseInt(v(f, "capacity"), 10);
      return p;
    }
  };

  function chatLink(staff, query) {
    return el("a", {href: "/chat?" + SB.qs(Object.assign({staff: staff}, query))}, "打开聊天窗口");
  }

  function showResult(form, name, r) {
    var box = form.querySelector(".result");
    box.replaceChildren();
    form.querySelectorAll(".err").forEach(function (e) { e.remove(); });
    if (r.status === 422) {
      var errors = r.data.errors || {};
      Object.keys(errors).forEach(function (field) {
        var input = form.elements[field];
        var where = input && (input.closest ? input.closest(".field") : null);
        (where || box).appendChild(el("div", {class: "err"}, (where ? "" : field + "：") + errors[field]));
      });
      return;
    }
    if (!r.ok) { box.appendChild(el("div", {class: "err"}, "HTTP " + r.status + "：" + (r.data.error || ""))); return; }
    var result = r.data.result || {};
    var events = (result.callbacks || []).map(function (c) { return c.event + (c.change_type ? "/" + c.change_type : ""); });
    var line = el("div", {class: "ok"}, "✓ " + name + (events.length ? " → 回调 " + events.join(", ") : ""));
    if (result.external_userid && result.userid) {
      if (result.name) SB.names[result.external_userid] = result.name;
      line.append(" ", chatLink(result.userid, {customer: result.external_userid}));
    }
    var details = el("details");
    details.append(el("summary", null, "结果"), el("pre", null, JSON.stringify(result, null, 2)));
    box.append(line, details);
    refresh();
  }

  document.querySelectorAll("#actions form").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var name = (event.submitter && event.submitter.dataset.action) || form.dataset.action;
      var params = BUILD[name](form, event.submitter);
      if (document.getElementById("duplicate").checked) params.duplicate = true;
      SB.api("actions/" + name, params).then(function (r) { showResult(form, name, r); });
    });
    form.querySelectorAll("input[type=radio]").forEach(function (radio) {
      radio.addEventListener("change", function () {
        form.querySelectorAll("[data-show]").forEach(function (part) {
          var rule = part.dataset.show.split("=");
          part.hidden = form.elements[rule[0]].value !== rule[1];
        });
      });
    });
  });

  // ---- pickers and lists ------------------------------------------------------------------------

  function fillContactWays() {
    return SB.api("world/contact-ways").then(function (r) {
      document.querySelectorAll("[data-contact-ways]").forEach(function (select) {
        var keep = select.value, ways = r.data.contact_ways || [];
        select.replaceChildren(el("option", {value: ""}, ways.length ? "— 选择渠道码 —" : "服务尚未创建渠道码"));
        ways.forEach(function (w) {
          select.appendChild(el("option", {value: w.config_id},
            (w.state ? "state=" + w.state : w.config_id) + " · " + (w.user || []).map(SB.name).join("、")));
        });
        select.value = keep;
      });
    });
  }

  function fillJoinWays() {
    return SB.api("world/join-ways").then(function (r) {
      document.querySelectorAll("[data-join-ways]").forEach(function (select) {
        var keep = select.value, ways = r.data.join_ways || [];
        select.replaceChildren(el("option", {value: ""}, ways.length ? "— 选择群活码 —" : "服务尚未创建群活码"));
        ways.forEach(function (w) {
          select.appendChild(el("option", {value: w.config_id}, "state=" + w.state + " · " +
            (w.groups || []).map(function (g) { return g.name + "（" + g.members + "人）"; }).join("、")));
        });
        select.value = keep;
      });
    });
  }

  function fillTags() {
    return SB.api("world/tags").then(function (r) {
      document.querySelectorAll("[data-tags]").forEach(function (box) {
        box.replaceChildren();
        (r.data.tag_groups || []).forEach(function (group) {
          var row = el("div", {class: "tag-group"});
          row.appendChild(el("span", {class: "muted"}, group.name + "："));
          group.tags.forEach(function (tag) {
            var label = el("label", {class: "tag"});
            label.append(el("input", {type: "checkbox", value: tag.id, checked: !!currentTags[tag.id]}), tag.name);
            row.appendChild(label);
          });
          box.appendChild(row);
        });
      });
    });
  }

  function loadRelation(form) {  // edit form: tick the relation's current tags, show its remark
    currentTags = {};
    var userid = v(form, "userid"), ext = v(form, "external_userid");
    var apply = function () {
      form.querySelectorAll("[data-tags] input").forEach(function (i) { i.checked = !!currentTags[i.value]; });
    };
    if (!userid || !ext) return apply();
    SB.api("world/customers/" + encodeURIComponent(ext)).then(function (r) {
      var rel = ((r.data.customer || {}).follow || []).filter(function (f) { return f.userid === userid; })[0];
      (rel ? rel.tags : []).forEach(function (t) { currentTags[t.id] = true; });
      form.elements.remark.placeholder = rel && rel.remark ? "当前：" + rel.remark : "不修改则留空";
      apply();
    });
  }

  document.querySelectorAll("[data-customers], [data-groups]").forEach(function (box) {
    var form = box.closest("form");
    var scope = box.dataset.scope ? function () { return v(form, box.dataset.scope) || ""; } : null;
    var isGroups = box.hasAttribute("data-groups");
    var picker = new SB.Picker(box, box.dataset.customers || box.dataset.groups,
      isGroups ? SB.groupSource(scope) : SB.customerSource(scope),
      form.dataset.action === "edit_customer" ? function () { loadRelation(form); } : null);
    pickers.push(picker);
    if (scope) form.elements[box.dataset.scope].addEventListener("change", function () {
      picker.reload(true);
      if (form.dataset.action === "edit_customer") loadRelation(form);
    });
  });

  function refresh() {
    SB.forgetGroups();
    SB.loadStaff().then(function () {
      document.querySelectorAll("[data-staff]").forEach(SB.fillStaff);
      fillContactWays();
      fillJoinWays();
    });
    pickers.forEach(function (p) { p.reload(false); });
  }

  SB.loadStaff().then(function () {
    document.querySelectorAll("[data-staff]").forEach(SB.fillStaff);
    fillContactWays();
  });
  fillJoinWays();
  fillTags();

  // ---- the live feed ----------------------------------------------------------------------------

  var feedBox = document.getElementById("feed");
  var recent = [];            // the last 1000 entries, oldest first
  var lastId = null, apiCount = 0;
  var confirmButtons = {};    // msgid + userid → button
  var confirmed = {};         // msgid + userid → true once the task is sent
  var GROUP = {welcome_sent: "welcome", mass_send_created: "mass", mass_send_confirmed: "mass",
               mass_send_reminded: "mass", mass_send_cancelled: "mass", app_message: "app",
               chat_message: "app", callback: "callback", action: "action", api_call: "api"};
  var LABEL = {welcome_sent: "欢迎语已发送", mass_send_created: "创建群发", mass_send_confirmed: "群发已确认",
               mass_send_reminded: "提醒成员发送", mass_send_cancelled: "群发已取消", app_message: "应用消息",
               callback: "回调", action: "你的操作", api_call: "API", contact_way: "渠道码",
               group_welcome_template: "入群欢迎语素材", tokens_expired: "令牌过期",
               chat_message: "侧边栏发送到聊天"};

  // An app message as its recipient reads it: a text card's title, description (its little HTML
  // parsed in an inert document, shown as text) and link; a text's content.
  function appMessageText(e) {
    var c = e.content;
    if (!c || typeof c !== "object") return c;
    if (e.msgtype === "textcard") {
      var description = new DOMParser().parseFromString(c.description || "", "text/html").body.textContent;
      return [c.title, description, (c.btntxt || "详情") + "：" + c.url].filter(Boolean).join("\n");
    }
    if (e.msgtype === "template_card") {
      var lines = [(c.main_title || {}).title, (c.main_title || {}).desc];
      if (c.emphasis_content) lines.push(c.emphasis_content.title + " " + (c.emphasis_content.desc || ""));
      if (c.sub_title_text) lines.push(c.sub_title_text);
      (c.horizontal_content_list || []).forEach(function (r) { lines.push(r.keyname + "：" + (r.value || "")); });
      lines.push("打开：" + ((c.card_action || {}).url || ""));
      return lines.filter(Boolean).join("\n");
    }
    return c.content || JSON.stringify(c);
  }

  function shown() {
    var on = {};
    document.querySelectorAll("#filters input[type=checkbox]").forEach(function (i) { on[i.value] = i.checked; });
    var pathFilter = document.getElementById("api-filter").value.trim();
    return function (e) {
      var group = GROUP[e.kind] || "other";
      return on[group] && (group !== "api" || !pathFilter || e.path.indexOf(pathFilter) >= 0);
    };
  }

  function messageBody(text, attachments) {
    var box = el("div", {class: "msg"});
    if (text && text.content) box.appendChild(el("div", {class: "bubble"}, text.content));
    (attachments || []).forEach(function (a) {
      var item = a[a.msgtype] || {};
      box.appendChild(el("div", {class: "attachment"},
        "[" + a.msgtype + "] " + (item.title || item.media_id || item.pic_url || item.url || "")));
    });
    return box;
  }

  function confirmButton(msgid, userid, count, group) {
    var button = el("button", {type: "button", class: "mini primary"},
                    (group ? "以群主身份确认发送：" : "以员工身份确认发送：") + SB.name(userid) + "（" + count + "）");
    confirmButtons[msgid + " " + userid] = button;
    if (confirmed[msgid + " " + userid]) { button.disabled = true; button.textContent = "已确认：" + SB.name(userid); }
    button.addEventListener("click", function () {
      button.disabled = true;
      SB.api("mass-sends/" + encodeURIComponent(msgid) + "/confirm", {userid: userid}).then(function (r) {
        if (!r.ok) { button.disabled = false; button.textContent = "失败：" + (r.data.error || r.status); }
      });
    });
    return button;
  }

  function render(e) {
    var node = el("div", {class: "entry kind-" + e.kind + (e.ok === false ? " bad" : "")});
    var head = el("div", {class: "head"});
    head.append(el("span", {class: "muted"}, SB.clock(e.at)), el("b", null, " " + (LABEL[e.kind] || e.kind) + " "));
    node.appendChild(head);
    var body = function (text) { head.appendChild(el("span", null, text)); };
    if (e.kind === "welcome_sent") {
      body(SB.name(e.userid) + " → " + SB.name(e.external_userid) + " · 添加后 " + e.latency_ms + " ms ");
      head.appendChild(chatLink(e.userid, {customer: e.external_userid}));
      node.appendChild(messageBody(e.text, e.attachments));
    } else if (e.kind === "mass_send_created") {
      body((e.chat_type === "group" ? "群发到客户群" : "群发到客户") + " · " + e.msgid);
      node.appendChild(messageBody(e.text, e.attachments));
      var tasks = el("div", {class: "buttons"});
      Object.keys(e.tasks || {}).forEach(function (u) { tasks.appendChild(confirmButton(e.msgid, u, e.tasks[u], e.chat_type === "group")); });
      node.appendChild(tasks);
    } else if (e.kind === "mass_send_confirmed") {
      body(SB.name(e.userid) + " · 送达 " + e.sent + "，非好友 " + e.not_friend + "，超额 " + e.quota_exceeded);
      confirmed[e.msgid + " " + e.userid] = true;
      var done = confirmButtons[e.msgid + " " + e.userid];
      if (done) { done.disabled = true; done.textContent = "已确认：" + SB.name(e.userid); }
    } else if (e.kind === "app_message") {
      body("→ " + (e.touser || []).map(SB.name).join("、") + " · " + e.msgtype +
           (e.dropped_as_duplicate ? " · 重复，已丢弃" : ""));
      node.appendChild(el("div", {class: "bubble"}, appMessageText(e)));
    } else if (e.kind === "chat_message") {
      body(SB.name(e.staff || "") + " → " + SB.name(e.external_userid || e.chat_id || ""));
      node.appendChild(el("div", {class: "bubble"}, e.text || ""));
    } else if (e.kind === "callback") {
      var last = (e.attempts || [])[(e.attempts || []).length - 1] || {};
      body((e.event || "") + (e.change_type ? "/" + e.change_type : "") + " · " +
           (e.skipped ? e.skipped : "HTTP " + (last.status || last.error) + " · " + last.ms + " ms") +
           (e.duplicate ? " · 重复投递" : "") + ((e.attempts || []).length > 1 ? " · 尝试 " + e.attempts.length + " 次" : ""));
    } else if (e.kind === "action") {
      body(e.name);
    } else if (e.kind === "contact_way") {
      body(e.op + " · " + (e.settings && e.settings.state ? "state=" + e.settings.state : e.config_id));
    } else if (e.kind === "api_call") {
      body(e.method + " " + e.path + " → errcode " + e.errcode);
      if (e.errcode) node.classList.add("bad");
    }
    if (e.kind !== "action") {
      var raw = Object.assign({}, e);
      ["id", "at", "kind"].forEach(function (k) { delete raw[k]; });
      var details = el("details");
      details.append(el("summary", null, "详情"), el("pre", null, JSON.stringify(raw, null, 2)));
      node.appendChild(details);
    }
    return node;
  }

  function redraw() {
    var test = shown();
    feedBox.replaceChildren();
    recent.filter(test).slice(-300).reverse().forEach(function (e) { feedBox.appendChild(render(e)); });
  }

  function poll() {
    var starting = lastId === null;  // first: learn the newest id, then show the last 300 entries
    SB.api("feed?" + SB.qs({after: starting ? 1e9 : lastId, limit: 500})).then(function (r) {
      document.getElementById("live-state").textContent = "每秒刷新";
      if (starting) { lastId = Math.max(0, r.data.last_id - 300); return; }
      var test = shown();
      (r.data.entries || []).forEach(function (e) {
        recent.push(e);
        lastId = e.id;
        if (e.kind === "api_call") apiCount += 1;
        if (test(e)) feedBox.insertBefore(render(e), feedBox.firstChild);
      });
      if (recent.length > 1000) recent.splice(0, recent.length - 1000);
      while (feedBox.childNodes.length > 300) feedBox.removeChild(feedBox.lastChild);
      document.getElementById("api-count").textContent = apiCount ? "(" + apiCount + ")" : "";
      if ((r.data.entries || []).some(function (e) { return e.kind === "contact_way"; })) fillContactWays();
      if ((r.data.entries || []).some(function (e) {
        return e.kind === "join_way" || (e.kind === "action" && e.name === "join_by_group_code");
      })) fillJoinWays();
    }, function () {
      document.getElementById("live-state").textContent = "模拟器无响应，重试中…";
    }).then(function () { setTimeout(poll, starting && lastId !== null ? 0 : 1000); });
  }

  document.querySelectorAll("#filters input").forEach(function (input) {
    input.addEventListener(input.type === "search" ? "input" : "change", function () {
      document.getElementById("api-filter").hidden = !document.querySelector("#filters input[value=api]").checked;
      redraw();
    });
  });
  poll();
})();
