/* The chat sidebar (聊天工具栏). ww.register() → ww.getContext() → the customer or the group of the
 * current conversation, read from /sidebar/api/ (sidebar/CONTRACT.md).
 * Every string from the server goes into the page as text only: textContent, .value, text nodes.
 * `ww` is the real JS-SDK (@wecom/jssdk) or, in sandbox mode, ww-standin.js. */
(function () {
  "use strict";
  var root = byId("sidebar");
  var API = root.dataset.api;
  var stateBox = byId("state"), view = byId("view"), library = byId("library"), sopBox = byId("sop");
  var tabs = byId("tabs"), toastEl = byId("toast"), backButton = byId("back"), title = byId("title");
  var params = new URLSearchParams(window.location.search);
  var current = null;   // {kind: "customer" | "group", id, back?: {kind, id}}
  var started = false, toastTimer = null;

  var FOLLOW_UP_KINDS = [["chat", "聊天"], ["call", "电话"], ["visit", "拜访"], ["note", "备注"]];
  var MESSAGE_LABELS = {image: "图片", video: "视频", file: "文件", news: "图文", miniprogram: "小程序", link: "链接"};

  // ---- small helpers ------------------------------------------------------------------------

  function byId(id) { return document.getElementById(id); }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null && text !== "") node.textContent = String(text);
    return node;
  }

  function append(parent) {
    for (var i = 1; i < arguments.length; i++) {
      var child = arguments[i];
      if (child === null || child === undefined || child === false) continue;
      parent.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return parent;
  }

  function button(label, className, onClick) {
    var node = el("button", className || "", label);
    node.type = "button";
    node.addEventListener("click", onClick);
    return node;
  }

  function card(heading, className) {
    var box = el("section", "card" + (className ? " " + className : ""));
    if (heading) box.appendChild(el("h2", null, heading));
    return box;
  }

  function row(label, value) {
    var line = el("div", "row");
    append(line, el("span", "label", label), el("span", "value", value === null || value === undefined ||
                                                         value === "" ? "—" : value));
    return line;
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  // Dates always read yyyy-mm-dd (hh:mm), in the browser's time zone, whatever its locale: built
  // from the parts, never toLocale*(); and no <input type=date>, which shows the locale's format.
  function day(iso) {
    if (!iso) return "—";
    var d = new Date(iso);
    if (isNaN(d.getTime())) return String(iso);
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate());
  }

  function when(iso) {
    if (!iso) return "—";
    var d = new Date(iso);
    if (isNaN(d.getTime())) return String(iso);
    return day(iso) + " " + pad(d.getHours()) + ":" + pad(d.getMinutes());
  }

  var DATE_RE = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2}))?$/;

  // "yyyy-mm-dd" or "yyyy-mm-dd hh:mm" typed by hand → a Date in the browser's zone, or null.
  function parseLocal(text, withTime) {
    var m = DATE_RE.exec(text.trim());
    if (!m || (m[4] !== undefined && !withTime)) return null;
    var d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4] || 9), Number(m[5] || 0));
    if (d.getMonth() !== Number(m[2]) - 1 || d.getDate() !== Number(m[3])) return null;  // 2026-02-30
    return d;
  }

  function dateInput(value, withTime) {
    var node = input("text", value);
    node.placeholder = withTime ? "yyyy-mm-dd hh:mm" : "yyyy-mm-dd";
    node.inputMode = "numeric";
    node.maxLength = withTime ? 16 : 10;
    node.autocomplete = "off";
    return node;
  }

  function enc(value) { return encodeURIComponent(value); }

  function toast(text, isError) {
    clearTimeout(toastTimer);
    toastEl.textContent = text;
    toastEl.className = isError ? "show error" : "show";
    toastTimer = setTimeout(function () { toastEl.className = ""; }, isError ? 6000 : 2500);
  }

  function errorText(r) {
    return (r.data && r.data.message) || (r.status ? "请求失败（HTTP " + r.status + "）" : "网络错误，请检查网络后重试");
  }

  function wwError(err) {
    return (err && (err.errMsg || err.message)) || String(err);
  }

  // ---- the JSON API -------------------------------------------------------------------------

  function relogin(data) {
    showState("登录已过期", "正在重新登录…");
    var url = (data && data.login_url) || "/sidebar/oauth/start";
    if (url.indexOf("next=") < 0) {
      url += (url.indexOf("?") < 0 ? "?" : "&") + "next=" + enc(window.location.pathname + window.location.search);
    }
    window.location.assign(url);
    return new Promise(function () {});  // the page is going away
  }

  function request(method, path, body, headers) {
    // X-Requested-With marks the sidebar's own requests: changes without it are refused (sidebar/auth.py).
    var init = {method: method, credentials: "same-origin",
                headers: Object.assign({Accept: "application/json", "X-Requested-With": "scrm-sidebar"}, headers)};
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(API + path, init).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (data) {
        if (resp.status === 401) return relogin(data);
        return {status: resp.status, ok: resp.ok, data: data};
      });
    }, function () {
      return {status: 0, ok: false, data: {}};
    });
  }

  // The customer view's timeline, risk and deleted-relation cards (sidebar_timeline.js), and the
  // 话术/素材 tab (sidebar_library.js). Function declarations below are hoisted.
  var cards = window.scrmSidebarParts({el: el, append: append, button: button, card: card, when: when, day: day,
                                       enc: enc, request: request, toast: toast, errorText: errorText});
  var contentLibrary = window.scrmSidebarLibrary({el: el, append: append, button: button, input: input, enc: enc,
                                                  request: request, toast: toast, errorText: errorText,
                                                  wwError: wwError, preview: preview, labels: MESSAGE_LABELS,
                                                  conversation: conversation});

  // ---- page states --------------------------------------------------------------------------

  function showState(heading, text, action, isError) {
    view.replaceChildren();
    sopBox.replaceChildren();
    library.hidden = true;
    tabs.hidden = true;
    var box = el("div", "state-box" + (isError ? " error" : ""));
    append(box, el("h2", null, heading), text ? el("p", null, text) : null,
           action ? button(action.label, "primary", action.run) : null);
    stateBox.replaceChildren(box);
  }

  function loading(text) {
    stateBox.replaceChildren(el("p", "muted", text));
  }

  function failed(r, again) {
    showState("加载失败", errorText(r), {label: "重试", run: again}, true);
  }

  // ---- tabs ---------------------------------------------------------------------------------

  function showTab(name) {
    tabs.querySelectorAll("[data-tab]").forEach(function (b) { b.classList.toggle("on", b.dataset.tab === name); });
    view.hidden = name !== "profile";
    library.hidden = name !== "content";
    if (name === "content" && !library.dataset.loaded) contentLibrary.open(library);
  }

  function showTabs(profileLabel) {
    tabs.hidden = false;
    tabs.querySelector('[data-tab="profile"]').textContent = profileLabel;
    library.replaceChildren();
    delete library.dataset.loaded;
    showTab("profile");
  }

  tabs.querySelectorAll("[data-tab]").forEach(function (b) {
    b.addEventListener("click", function () { showTab(b.dataset.tab); });
  });

  // ---- the customer view --------------------------------------------------------------------

  function openCustomer(id, back) {
    current = {kind: "customer", id: id, back: back || null};
    backButton.hidden = !back;
    title.textContent = "客户资料";
    loading("正在读取客户资料…");
    return request("GET", "customers/" + enc(id) + "?timeline_limit=20").then(function (r) {
      customerResponse(id, r);
    });
  }

  function customerResponse(id, r) {
    if (r.status === 200) return renderCustomer(id, r.data);
    if (r.status === 403) return showState("无权查看", (r.data && r.data.message) || "你不是该客户的跟进成员。");
    if (r.status === 404) {
      return showState("客户尚未同步", "服务里还没有这位客户的资料，可以立即从企业微信获取。", {
        label: "从企业微信获取", run: function () {
          loading("正在从企业微信获取…");
          request("POST", "customers/" + enc(id) + "/fetch").then(function (again) {
            if (again.status === 404) {
              showState("客户尚未同步", "企业微信也没有这位客户的资料（" + errorText(again) + "）。",
                        {label: "重试", run: function () { openCustomer(id, current.back); }});
            } else {
              customerResponse(id, again);
            }
          });
        }});
    }
    failed(r, function () { openCustomer(id, current && current.back); });
  }

  function renderCustomer(id, d) {
    stateBox.replaceChildren();
    showTabs("客户");
    view.replaceChildren();
    var deleted = d.relation && d.relation.status === "deleted_by_customer";
    append(view, customerHead(d.customer || {}), deleted ? cards.deletedCard(d.relation, d.recall) : null,
           relationCard(id, d.relation), sourceCard(d),
           colleaguesCard(d.colleagues || []), tagsCard(id, d.tags), stageCard(id, d.stage, d.read_only),
           fieldsCard(id, d.fields || [], d.read_only), groupsCard(d.groups || []), sopsCard(d.sops || []),
           cards.churnCard(d.churn_risk), followUpsCard(id, d.follow_ups || []), cards.timelineCard(id, d.timeline));
    // SOP reminders waiting for this customer (the card's ?sop_step= first), each ready to send.
    var waiting = (d.sop_reminders || []).map(function (t) { return String(t.id); });
    if (params.get("sop_step") && !current.back && waiting.indexOf(params.get("sop_step")) < 0) {
      waiting.unshift(params.get("sop_step"));
    }
    sopBox.replaceChildren();
    waiting.forEach(function (taskId) { loadSopTask(taskId); });
    // Recall reminders waiting for this customer (the card's ?recall= first), each ready to send.
    var recalls = (d.recall_reminders || []).map(function (r) { return String(r.id); });
    if (params.get("recall") && !current.back && !deleted && recalls.indexOf(params.get("recall")) < 0) {
      recalls.unshift(params.get("recall"));
    }
    recalls.forEach(function (recallId) { loadRecall(recallId, outsideChat); });
  }

  function avatar(url, name) {
    if (/^https?:\/\//i.test(url || "")) {
      var img = el("img", "avatar");
      img.alt = "";
      img.addEventListener("error", function () { img.replaceWith(avatar("", name)); });
      img.src = url;
      return img;
    }
    return el("span", "avatar", (name || "客").slice(0, 1));
  }

  function customerHead(c) {
    var head = card(null, "head");
    var info = el("div", "who");
    var type = c.type === 2 ? "@" + (c.corp_name || c.corp_full_name || "企业微信") : "微信";
    var meta = [type, c.gender_label, c.position].filter(Boolean).join(" · ");
    append(info, el("div", "name", c.name || c.external_userid), el("div", "muted", meta));
    append(head, avatar(c.avatar, c.name), info);
    return head;
  }

  function relationCard(id, rel) {
    var box = card("备注与描述");
    if (!rel) {
      append(box, el("p", "muted", "你还没有添加这位客户。"));
      return box;
    }
    var mobiles = (rel.remark_mobiles || []).join("、");
    append(box, row("备注", rel.remark), row("描述", rel.description), row("备注企业", rel.remark_corp_name),
           row("备注电话", mobiles + (rel.mobiles_masked && mobiles ? "（已脱敏）" : "")),
           row("状态", rel.status_label || rel.status));
    var form = el("form", "edit");
    form.hidden = true;
    var remark = input("text", rel.remark), description = el("textarea");
    description.rows = 2;
    description.value = rel.description || "";
    var phones = input("text", rel.mobiles_masked ? "" : (rel.remark_mobiles || []).join(","));
    append(form, labelled("备注", remark), labelled("描述", description),
           rel.mobiles_masked ? el("p", "muted", "备注电话已脱敏，这里不修改。") : labelled("备注电话（逗号分隔）", phones),
           el("p", "error field-error"), el("button", "primary", "保存"));
    if (rel.status !== "active") return box;  // WeCom edits the remark of a friend only
    var edit = button("编辑", "link edit-toggle", function () { form.hidden = !form.hidden; });
    box.querySelector("h2").appendChild(edit);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var body = {remark: remark.value.trim(), description: description.value.trim()};
      if (!rel.mobiles_masked) {
        body.remark_mobiles = phones.value.split(/[,，\s]+/).filter(Boolean);
      }
      request("PUT", "customers/" + enc(id) + "/remark", body).then(function (r) {
        if (r.ok) {
          box.replaceWith(relationCard(id, r.data));
          toast("备注已保存");
          cards.refreshTimeline(id);
        } else {
          form.querySelector(".field-error").textContent = errorList(r);
        }
      });
    });
    box.appendChild(form);
    return box;
  }

  function errorList(r) {
    var errors = (r.data && r.data.errors) || {};
    var parts = Object.keys(errors).map(function (k) { return [].concat(errors[k]).join("；"); });
    return parts.length ? parts.join("；") : errorText(r);
  }

  function input(type, value) {
    var node = el("input");
    node.type = type;
    node.value = value === null || value === undefined ? "" : String(value);
    return node;
  }

  function labelled(text, control) {
    var label = el("label", "field");
    append(label, el("span", "label", text), control);
    return label;
  }

  function sourceCard(d) {
    var box = card("来源");
    var rel = d.relation || {};
    append(box, row("渠道", d.channel ? d.channel.name || d.channel.state : (rel.state || "")),
           row("添加方式", rel.add_way_label), row("添加时间", when(rel.added_at)));
    return box;
  }

  function colleaguesCard(colleagues) {
    var box = card("同事也在跟进");
    if (!colleagues.length) append(box, el("p", "muted", "无"));
    colleagues.forEach(function (c) {
      var line = el("div", "row");
      append(line, el("strong", null, c.name || c.userid), el("span", "pill", c.status_label || c.status),
             c.left ? el("span", "pill left", "已离职") : null,
             el("div", "muted", (c.remark ? "备注：" + c.remark + " · " : "") + "添加于 " + when(c.added_at)));
      box.appendChild(line);
    });
    return box;
  }

  // The corp tag library (GET tag-library) is the same for every customer: fetched once and kept,
  // asked again (If-None-Match: 304 while unchanged) only when a profile names another version.
  var tagLibrary = null, tagLibraryLoad = null;   // {version, groups}; the request under way

  function loadTagLibrary(version) {
    if (tagLibrary && tagLibrary.version === version) return Promise.resolve(tagLibrary);
    if (!tagLibraryLoad) {
      var headers = tagLibrary ? {"If-None-Match": '"' + tagLibrary.version + '"'} : undefined;
      tagLibraryLoad = request("GET", "tag-library", undefined, headers).then(function (r) {
        tagLibraryLoad = null;
        if (r.status === 200 && r.data && r.data.groups) tagLibrary = r.data;
        return tagLibrary;   // after a 304 (or a failure), the one kept
      });
    }
    return tagLibraryLoad;
  }

  // The profile's tags block ({selected, personal, editable, library_version}) over the library.
  function withLibrary(tags, lib) {
    var on = {};
    (tags.selected || []).forEach(function (t) { on[t.tag_id] = true; });
    return Object.assign({}, tags, {groups: ((lib && lib.groups) || []).map(function (g) {
      return {group_id: g.group_id, name: g.name, tags: (g.tags || []).map(function (t) {
        return {tag_id: t.tag_id, name: t.name, selected: !!on[t.tag_id]};
      })};
    })});
  }

  function tagsCard(id, tags) {
    if (tags && !tags.groups) {
      var pending = card("企业标签", "tags-card");
      loadTagLibrary(tags.library_version).then(function (lib) {
        pending.replaceWith(tagsCard(id, withLibrary(tags, lib)));
      });
      return pending;
    }
    tags = tags || {groups: [], personal: [], editable: false};
    var box = card("企业标签", "tags-card");
    var chosen = {}, original = {};
    (tags.groups || []).forEach(function (g) {
      (g.tags || []).forEach(function (t) { chosen[t.tag_id] = original[t.tag_id] = !!t.selected; });
    });
    var save = button("保存标签", "primary small", function () {
      var add = [], remove = [];
      Object.keys(chosen).forEach(function (k) {
        if (chosen[k] && !original[k]) add.push(k);
        if (!chosen[k] && original[k]) remove.push(k);
      });
      save.disabled = true;
      request("PUT", "customers/" + enc(id) + "/tags", {add: add, remove: remove}).then(function (r) {
        if (r.ok) {
          box.replaceWith(tagsCard(id, r.data));
          toast("标签已保存");
          cards.refreshTimeline(id);
        } else {
          save.disabled = false;
          toast(errorText(r), true);
        }
      });
    });
    save.disabled = true;
    function dirty() {
      return Object.keys(chosen).some(function (k) { return chosen[k] !== original[k]; });
    }
    (tags.groups || []).forEach(function (g) {
      var group = el("div", "tag-group");
      group.appendChild(el("div", "muted", g.name));
      (g.tags || []).forEach(function (t) {
        var chip = button(t.name, "chip" + (t.selected ? " on" : ""), function () {
          chosen[t.tag_id] = !chosen[t.tag_id];
          chip.classList.toggle("on", chosen[t.tag_id]);
          chip.setAttribute("aria-pressed", String(chosen[t.tag_id]));
          save.disabled = !dirty();
        });
        chip.dataset.tagId = t.tag_id;
        chip.setAttribute("aria-pressed", String(!!t.selected));
        chip.disabled = !tags.editable;
        group.appendChild(chip);
      });
      box.appendChild(group);
    });
    if (!(tags.groups || []).length) append(box, el("p", "muted", "企业还没有标签"));
    if ((tags.personal || []).length) {
      var personal = el("div", "tag-group");
      personal.appendChild(el("div", "muted", "个人标签"));
      tags.personal.forEach(function (t) { personal.appendChild(el("span", "chip static", t.name)); });
      box.appendChild(personal);
    }
    if (tags.editable) box.appendChild(save);
    return box;
  }

  // 销售阶段: the funnel, not to be confused with a corp tag group a corp may call 跟进阶段.
  function stageCard(id, stage, readOnly) {
    stage = stage || {current: null, options: []};
    var box = card("销售阶段", "stage");
    var select = el("select");
    select.setAttribute("aria-label", "销售阶段");
    select.disabled = !!readOnly;
    select.appendChild(option("", "未设置"));
    (stage.options || []).forEach(function (o) { select.appendChild(option(String(o.id), o.name)); });
    select.value = stage.current ? String(stage.current.id) : "";
    select.addEventListener("change", function () {
      var value = select.value ? Number(select.value) : null;
      request("PUT", "customers/" + enc(id) + "/stage", {stage_id: value}).then(function (r) {
        if (r.ok) {
          stage = {current: r.data.current, options: stage.options};
          toast("销售阶段已更新");
          cards.refreshTimeline(id);
        } else {
          select.value = stage.current ? String(stage.current.id) : "";
          toast(errorText(r), true);
        }
      });
    });
    box.appendChild(select);
    return box;
  }

  function option(value, label) {
    var node = el("option", null, label);
    node.value = value;
    return node;
  }

  function optionPair(o) {
    if (o !== null && typeof o === "object") {
      var value = o.value !== undefined ? o.value : (o.id !== undefined ? o.id : o.name);
      return [String(value), o.label || o.name || String(value)];
    }
    return [String(o), String(o)];
  }

  function fieldsCard(id, fields, readOnly) {
    var box = card("自定义字段");
    if (!fields.length) {
      append(box, el("p", "muted", "没有自定义字段"));
      return box;
    }
    var form = el("form", "fields");
    var controls = {};
    fields.forEach(function (f) {
      var control;
      if (f.type === "select") {
        control = el("select");
        control.appendChild(option("", "请选择"));
        (f.options || []).forEach(function (o) {
          var pair = optionPair(o);
          control.appendChild(option(pair[0], pair[1]));
        });
        control.value = f.value === null || f.value === undefined ? "" : String(f.value);
      } else if (f.type === "date") {
        control = dateInput(f.value, false);
      } else {
        control = input(f.type === "number" ? "number" : "text", f.value);
        if (f.type === "number") control.step = "any";
      }
      control.name = f.key;
      control.disabled = !!readOnly;
      controls[f.key] = control;
      var label = labelled(f.label + (f.required ? " *" : ""), control);
      label.appendChild(el("span", "error field-error"));
      label.dataset.key = f.key;
      form.appendChild(label);
    });
    var general = el("p", "error field-error");
    append(form, general, readOnly ? null : el("button", "primary small", "保存字段"));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var values = {};
      fields.forEach(function (f) {
        var raw = controls[f.key].value.trim();
        values[f.key] = raw === "" ? null : f.type === "number" ? Number(raw) : raw;
      });
      form.querySelectorAll(".field-error").forEach(function (n) { n.textContent = ""; });
      request("PUT", "customers/" + enc(id) + "/fields", {values: values}).then(function (r) {
        if (r.ok) {
          box.replaceWith(fieldsCard(id, Array.isArray(r.data) ? r.data : r.data.fields || fields));
          toast("字段已保存");
          cards.refreshTimeline(id);
          return;
        }
        var errors = (r.data && r.data.errors) || {};
        var shown = false;
        Object.keys(errors).forEach(function (k) {
          var key = k.replace(/^values\./, "");
          var messages = errors[k];
          if (messages && typeof messages === "object" && !Array.isArray(messages)) {
            Object.keys(messages).forEach(function (sub) { place(sub, messages[sub]); });
          } else {
            place(key, messages);
          }
        });
        function place(key, messages) {
          var label = Array.prototype.filter.call(form.querySelectorAll("label.field"), function (n) {
            return n.dataset.key === key;
          })[0];
          if (label) {
            label.querySelector(".field-error").textContent = [].concat(messages).join("；");
            shown = true;
          }
        }
        if (!shown) general.textContent = errorList(r);
      });
    });
    box.appendChild(form);
    return box;
  }

  function groupsCard(groups) {
    var box = card("所在客户群");
    if (!groups.length) append(box, el("p", "muted", "无"));
    groups.forEach(function (g) {
      var line = el("div", "row");
      append(line, el("span", null, g.name || "未命名群聊"),
             el("span", "muted", (g.member_count || 0) + " 人 · 入群 " + when(g.joined_at)));
      box.appendChild(line);
    });
    return box;
  }

  function sopsCard(sops) {
    var box = card("SOP 进度");
    if (!sops.length) append(box, el("p", "muted", "无进行中的 SOP"));
    sops.forEach(function (s) {
      var line = el("div", "row");
      var bar = el("div", "progress");
      var fill = el("span");
      fill.style.width = (s.total ? Math.round(100 * s.done / s.total) : 0) + "%";
      bar.appendChild(fill);
      append(line, el("strong", null, s.name), el("span", "muted", " " + (s.done || 0) + "/" + (s.total || 0)),
             bar, s.next_due_at ? el("div", "muted", "下一步 " + when(s.next_due_at)) : null);
      box.appendChild(line);
    });
    return box;
  }

  function followUpItem(f) {
    var item = el("li", "follow-up");
    append(item, el("div", "muted", (f.kind_label || f.kind) + " · " + (f.staff_name || f.userid || "") +
                                    (f.staff_left ? "（已离职）" : "") + " · " + when(f.created_at)),
           el("div", "content", f.content),
           f.next_at ? el("div", "muted", "下次跟进 " + when(f.next_at)) : null);
    return item;
  }

  function followUpsCard(id, latest) {
    var box = card("跟进记录", "follow-ups");
    var form = el("form", "follow-up-form");
    var kind = el("select");
    kind.setAttribute("aria-label", "跟进方式");
    FOLLOW_UP_KINDS.forEach(function (k) { kind.appendChild(option(k[0], k[1])); });
    var text = el("textarea");
    text.rows = 2;
    text.placeholder = "写一条跟进…";
    var next = dateInput("", true);
    next.setAttribute("aria-label", "下次跟进时间");
    var problem = el("p", "error field-error");
    var line = el("div", "inline");
    append(line, kind, labelled("下次跟进（可选）", next));
    append(form, line, text, problem, el("button", "primary small", "保存跟进"));
    var list = el("ul", "list");
    latest.forEach(function (f) { list.appendChild(followUpItem(f)); });
    var empty = el("p", "muted", latest.length ? "" : "还没有跟进记录");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      problem.textContent = "";
      if (!text.value.trim()) { problem.textContent = "请填写跟进内容"; return; }
      var body = {kind: kind.value, content: text.value.trim()};
      if (next.value.trim()) {
        var at = parseLocal(next.value, true);
        if (!at) { problem.textContent = "下次跟进时间格式应为 yyyy-mm-dd hh:mm"; return; }
        body.next_at = at.toISOString().replace(/\.\d{3}Z$/, "Z");
      }
      request("POST", "customers/" + enc(id) + "/follow-ups", body).then(function (r) {
        if (r.ok) {
          list.insertBefore(followUpItem(r.data), list.firstChild);
          empty.textContent = "";
          text.value = next.value = "";
          toast("跟进已保存");
          cards.refreshTimeline(id);
        } else {
          problem.textContent = errorList(r);
        }
      });
    });
    var page = 0;
    var more = button("查看全部", "link more", function () {
      page += 1;
      request("GET", "customers/" + enc(id) + "/follow-ups?page=" + page).then(function (r) {
        if (!r.ok) { page -= 1; toast(errorText(r), true); return; }
        if (page === 1) list.replaceChildren();
        (r.data.items || []).forEach(function (f) { list.appendChild(followUpItem(f)); });
        more.textContent = "加载更多";
        more.hidden = page * (r.data.page_size || 20) >= (r.data.total || 0);
      });
    });
    more.hidden = latest.length < 5;
    append(box, form, empty, list, more);
    return box;
  }

  // ---- sending into the conversation ----------------------------------------------------------

  function preview(message) {
    var type = (message && message.msgtype) || "text";
    var body = (message && message[type]) || {};
    if (type === "text") return body.content || "";
    return "[" + (MESSAGE_LABELS[type] || type) + "] " + (body.title || "");
  }

  function sendAll(messages) {
    return messages.reduce(function (chain, message) {
      return chain.then(function () { return ww.sendChatMessage(message); });
    }, Promise.resolve());
  }

  function conversation() {
    if (!current) return {};
    return current.kind === "group" ? {chat_id: current.id} : {external_userid: current.id};
  }

  // ---- SOP reminder (?sop_step=<task id>) ---------------------------------------------------------

  function loadSopTask(taskId, outsideChat) {
    var box = card("SOP 待发送", "sop-task");
    sopBox.appendChild(box);
    request("GET", "sop-tasks/" + enc(taskId)).then(function (r) {
      if (!r.ok) { append(box, el("p", "error", errorText(r))); return; }
      var task = r.data.task || {}, messages = r.data.messages || [];
      append(box, el("div", null, (task.sop_name || "") + " · " + (task.step_name || "")),
             el("div", "muted", "客户 " + (task.customer_name || task.external_userid || "") + " · 计划 " + when(task.due_at)));
      var list = el("ul", "list");
      messages.forEach(function (m) { list.appendChild(el("li", "message", preview(m))); });
      if (r.data.unsendable) append(box, el("p", "error", r.data.unsendable + " 个附件已失效，不会发送"));
      var status = el("p", "muted", task.sent_from_sidebar_at ? "已于 " + when(task.sent_from_sidebar_at) + " 发送" : "");
      var send = button("发送", "primary small", function () {
        send.disabled = true;
        sendAll(messages).then(function () {
          return request("POST", "sop-tasks/" + enc(taskId) + "/sent").then(function (done) {
            if (!done.ok) throw {errMsg: errorText(done)};
            status.textContent = "已于 " + when(done.data.sent_from_sidebar_at) + " 发送";
            toast("SOP 消息已发送");
          });
        }).catch(function (err) {
          send.disabled = false;
          toast("发送失败：" + wwError(err), true);
        });
      });
      send.disabled = !messages.length;
      if (outsideChat) {  // sendChatMessage works only in a chat's toolbar
        append(box, list, status, el("p", "muted", "请打开与该客户的单聊，在工具栏中打开侧边栏后一键发送。"));
        return;
      }
      append(box, list, status, send);
    });
  }

  // ---- recall reminder (?recall=<recall id>) ------------------------------------------------------

  var outsideChat = false;  // opened from a reminder card (entry "normal"), not a chat's toolbar

  function loadRecall(recallId, outsideChat) {
    var box = card("客户召回", "sop-task");
    sopBox.appendChild(box);
    request("GET", "recalls/" + enc(recallId)).then(function (r) {
      if (!r.ok) { append(box, el("p", "error", errorText(r))); return; }
      var recall = r.data.recall || {}, messages = r.data.messages || [];
      append(box, el("div", null, (recall.playbook_name || "") + " · " + (recall.action_label || "")),
             el("div", "muted", "客户 " + (recall.customer_name || recall.external_userid || "") + " · " +
                                (recall.status_label || "")));
      var list = el("ul", "list");
      messages.forEach(function (m) { list.appendChild(el("li", "message", preview(m))); });
      if (r.data.unsendable) append(box, el("p", "error", r.data.unsendable + " 个附件已失效，不会发送"));
      var status = el("p", "muted", recall.sent_from_sidebar_at ? "已于 " + when(recall.sent_from_sidebar_at) + " 发送" : "");
      var send = button("发送", "primary small", function () {
        send.disabled = true;
        sendAll(messages).then(function () {
          return request("POST", "recalls/" + enc(recallId) + "/sent").then(function (done) {
            if (!done.ok) throw {errMsg: errorText(done)};
            status.textContent = "已于 " + when(done.data.sent_from_sidebar_at) + " 发送";
            toast("召回消息已发送");
          });
        }).catch(function (err) {
          send.disabled = false;
          toast("发送失败：" + wwError(err), true);
        });
      });
      send.disabled = !messages.length || !!recall.sent_from_sidebar_at;
      if (outsideChat) {
        append(box, list, status, el("p", "muted", "请打开与该客户的单聊，在工具栏中打开侧边栏后一键发送。"));
        return;
      }
      append(box, list, status, send);
    });
  }

  // ---- the group view -----------------------------------------------------------------------------

  function openGroup(chatId) {
    current = {kind: "group", id: chatId, back: null};
    backButton.hidden = true;
    title.textContent = "客户群";
    loading("正在读取群聊…");
    return request("GET", "groups/" + enc(chatId)).then(function (r) {
      if (r.status === 200) return renderGroup(chatId, r.data);
      if (r.status === 403) return showState("无权查看", (r.data && r.data.message) || "你不在这个群里。");
      if (r.status === 404) {
        return showState("群聊尚未同步", "服务里还没有这个群的资料，稍后再试。",
                         {label: "重试", run: function () { openGroup(chatId); }});
      }
      failed(r, function () { openGroup(chatId); });
    });
  }

  function renderGroup(chatId, d) {
    stateBox.replaceChildren();
    sopBox.replaceChildren();
    showTabs("群聊");
    var g = d.group || {}, counts = d.counts || {}, week = d.week || {};
    var head = card(null, "head");
    var info = el("div", "who");
    append(info, el("div", "name", g.name || "未命名群聊"),
           el("div", "muted", "群主 " + ((g.owner && (g.owner.name || g.owner.userid)) || "—") +
                               (g.status === "dismissed" ? " · 已解散" : "") + " · 创建于 " + when(g.created_at)));
    append(head, el("span", "avatar", "群"), info);
    var notice = card("群公告");
    append(notice, el("p", "pre", g.notice || "无"));
    var stats = card("成员");
    var numbers = el("div", "numbers");
    [["共", counts.members], ["客户", counts.customers], ["员工", counts.staff],
     ["本周入群", week.joined], ["本周退群", week.left]].forEach(function (n) {
      var cell = el("div", "number");
      append(cell, el("strong", null, n[1] === undefined || n[1] === null ? "—" : n[1]), el("span", "muted", n[0]));
      numbers.appendChild(cell);
    });
    stats.appendChild(numbers);
    var members = el("ul", "list members");
    (d.members || []).forEach(function (m) {
      var li = el("li");
      var name = m.name || m.member_id;
      var label = m.group_nickname && m.group_nickname !== name ? name + "（" + m.group_nickname + "）" : name;
      var who = m.is_customer && m.viewable ?
        button(label, "link member", function () { openCustomer(m.member_id, {kind: "group", id: chatId}); }) :
        el("span", null, label);
      append(li, who, el("span", "pill", m.is_customer ? "客户" : "员工"),
             el("div", "muted", "入群 " + when(m.join_time) + (m.join_scene_label ? " · " + m.join_scene_label : "")));
      members.appendChild(li);
    });
    stats.appendChild(members);
    view.replaceChildren();
    append(view, head, groupSopCard(chatId, d.sop || {}), notice, stats);
  }

  // ---- group SOPs: the group's reminders to send and its calendar (?group_sop=<execution id>) -----

  function groupSopCard(chatId, sop) {
    var box = card("群SOP", "group-sop");
    var reminders = sop.reminders || [], linked = params.get("group_sop");
    if (linked && !reminders.some(function (r) { return String(r.id) === linked; })) {
      box.appendChild(groupSopReminder(linked, null, chatId));
    }
    reminders.forEach(function (r) { box.appendChild(groupSopReminder(String(r.id), r, chatId)); });
    [["未来 " + (sop.days || 7) + " 天", sop.upcoming || []], ["最近执行", sop.recent || []]].forEach(function (part) {
      if (!part[1].length) return;
      var list = el("ul", "list calendar");
      part[1].forEach(function (x) {
        var state = x.status_label + (x.result_label && x.result_label !== x.status_label ? "：" + x.result_label : "");
        append(list, append(el("li"), el("span", "muted", when(x.due_at) + " "),
                            el("span", null, (x.plan_name || "") + " · " + (x.step_name || "")), el("span", "pill", state)));
      });
      append(box, el("h3", null, part[0]), list);
    });
    if (!box.querySelector("li, .group-sop-task")) box.appendChild(el("p", "muted", "暂无群SOP"));
    return box;
  }

  function groupSopReminder(id, summary, chatId) {
    var item = el("div", "sop-task group-sop-task");
    var heading = el("div", null, summary ? (summary.plan_name || "") + " · " + (summary.step_name || "") : "群SOP 待发送");
    var meta = el("div", "muted", summary ? "计划 " + when(summary.due_at) + " · " + summary.status_label : "");
    var list = el("ul", "list"), status = el("p", "muted");
    if (summary && summary.preview) list.appendChild(el("li", "message", summary.preview));
    append(item, heading, meta, list, status);
    if (summary && !summary.can_send) {
      status.textContent = "仅群主可以发送";
      return item;
    }
    request("GET", "group-sop-executions/" + enc(id)).then(function (r) {
      if (!r.ok) { status.className = "error"; status.textContent = errorText(r); return; }
      var x = r.data.execution || {}, messages = r.data.messages || [];
      heading.textContent = (x.plan_name || "") + " · " + (x.step_name || "");
      meta.textContent = (x.chat_id === chatId ? "" : "群聊 " + (x.group_name || "未命名群聊") + " · ") + "计划 " + when(x.due_at);
      list.replaceChildren();
      messages.forEach(function (m) { list.appendChild(el("li", "message", preview(m))); });
      if (r.data.unsendable) item.insertBefore(el("p", "error", r.data.unsendable + " 个附件已失效，不会发送"), status);
      if (x.status === "sent") { status.textContent = "已于 " + when(x.sent_at) + " 发送"; return; }
      if (!x.sendable) { status.textContent = x.status_label + (x.result_label ? "：" + x.result_label : ""); return; }
      if (!chatId) { status.textContent = "请打开该群聊，在工具栏中打开侧边栏后一键发送。"; return; }
      if (x.chat_id !== chatId) {
        status.textContent = "这条提醒属于群「" + (x.group_name || "未命名群聊") + "」，请打开该群聊后发送。";
        return;
      }
      var send = button("发送", "primary small", function () {
        send.disabled = true;
        sendAll(messages).then(function () {
          return request("POST", "group-sop-executions/" + enc(id) + "/sent").then(function (done) {
            if (!done.ok) throw {errMsg: errorText(done)};
            status.textContent = "已于 " + when(done.data.sent_at) + " 发送";
            send.remove();
            toast("群SOP 消息已发送");
          });
        }).catch(function (err) {
          send.disabled = false;
          toast("发送失败：" + wwError(err), true);
        });
      });
      send.disabled = !messages.length;
      item.appendChild(send);
    });
    return item;
  }

  // ---- where the page was opened -------------------------------------------------------------------

  function fromContext() {
    loading("正在读取当前会话…");
    ww.getContext().then(function (ctx) {
      var entry = ctx && ctx.entry;
      if (entry === "single_chat_tools" || entry === "contact_profile") {
        return ww.getCurExternalContact().then(function (r) { return openCustomer(r.userId); });
      }
      if (entry === "group_chat_tools") {
        return ww.getCurExternalChat().then(function (r) { return openGroup(r.chatId); });
      }
      // Opened from a reminder card (the app's message, entry "normal"): the customer it names
      // (access is checked by the server as for any view), or the SOP step to send from the chat.
      if (params.get("customer")) { outsideChat = true; return openCustomer(params.get("customer")); }
      current = null;
      showState("请从聊天窗口打开", "这个页面是客户聊天的工具栏，请在与客户的单聊或客户群的工具栏中打开。");
      if (params.get("sop_step")) loadSopTask(params.get("sop_step"), true);
      if (params.get("recall")) loadRecall(params.get("recall"), true);
      if (params.get("group_sop")) sopBox.appendChild(append(card("群SOP 待发送"),
                                                             groupSopReminder(params.get("group_sop"), null, null)));
    }).catch(function (err) {
      showState("企业微信接口错误", wwError(err), {label: "重试", run: fromContext}, true);
    });
  }

  function signature(type) {
    return function (url) {
      return request("GET", "jssdk/signature?type=" + type + "&url=" + enc(url)).then(function (r) {
        if (!r.ok) throw new Error(errorText(r));
        return {timestamp: r.data.timestamp, nonceStr: r.data.nonceStr, signature: r.data.signature};
      });
    };
  }

  function configFailed(err) {
    showState("企业微信接口错误", "JS-SDK 初始化失败：" + wwError(err), {
      label: "重试", run: function () { window.location.reload(); }}, true);
  }

  backButton.addEventListener("click", function () {
    if (current && current.back && current.back.kind === "group") openGroup(current.back.id);
  });
  byId("reload").addEventListener("click", function () {
    if (!current) return fromContext();
    if (current.kind === "group") return openGroup(current.id);
    openCustomer(current.id, current.back);
  });

  if (!window.ww) {
    showState("企业微信接口错误", "JS-SDK 没有加载。", null, true);
    return;
  }
  ww.register({
    corpId: root.dataset.corpId,
    agentId: Number(root.dataset.agentId) || root.dataset.agentId,
    jsApiList: ["getContext", "getCurExternalContact", "getCurExternalChat", "sendChatMessage"],
    getConfigSignature: signature("corp"),
    getAgentConfigSignature: signature("agent"),
    onAgentConfigSuccess: function () {
      if (started) return;
      started = true;
      fromContext();
    },
    onConfigFail: configFailed,
    onAgentConfigFail: configFailed
  });
})();
