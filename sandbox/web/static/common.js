/* Shared by the sandbox page and the chat window: DOM and JSON helpers, the world's lists,
 * and a searchable, paged picker (the customer list can be thousands long).
 * Data from the world (names, remarks, group names) only ever goes in via textContent/value. */
var SB = (function () {
  "use strict";
  var API = "/sandbox/api/";
  var names = {};   // userid / external_userid / chat_id → display name, learnt on the way
  var staffRows = [];

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "class") node.className = attrs[key];
      else if (key in node && typeof attrs[key] !== "string") node[key] = attrs[key];
      else node.setAttribute(key, attrs[key]);
    });
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function api(path, body) {
    var init = body === undefined ? {} : {method: "POST", headers: {"Content-Type": "application/json"},
                                            body: JSON.stringify(body)};
    return fetch(API + path, init).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (data) {
        return {status: resp.status, ok: resp.ok, data: data};
      });
    });
  }

  function qs(params) {
    return Object.keys(params).filter(function (k) { return params[k] !== undefined && params[k] !== ""; })
      .map(function (k) { return k + "=" + encodeURIComponent(params[k]); }).join("&");
  }

  function name(id) { return names[id] ? names[id] + "（" + id + "）" : id; }

  function loadStaff() {
    return api("world/staff").then(function (r) {
      staffRows = r.data.staff || [];
      staffRows.forEach(function (s) { names[s.userid] = s.name; });
      return staffRows;
    });
  }

  // <select data-staff> or data-staff="contact" (only members with 客户联系 can be picked).
  function fillStaff(select) {
    var keep = select.value;
    select.replaceChildren(el("option", {value: ""}, "— 选择成员 —"));
    staffRows.forEach(function (s) {
      var note = !s.active ? "（已离职）" : (!s.has_contact && select.dataset.staff === "contact" ? "（未开通客户联系）" : "");
      select.appendChild(el("option", {value: s.userid, disabled: !!note},
                            s.name + "（" + s.userid + "）· " + s.customers + " 位客户" + note));
    });
    select.value = keep;
  }

  function customerSource(scope) {
    return function (q, page) {
      var staff = scope ? scope() : "";
      return api("world/customers?" + qs({staff: staff, q: q, page: page, page_size: 20})).then(function (r) {
        var rows = r.data.customers || [];
        return {total: r.data.total || 0, pageSize: 20, items: rows.map(function (c) {
          names[c.external_userid] = c.name;
          var rel = c.follow.filter(function (f) { return f.userid === staff; })[0];
          return {value: c.external_userid, row: c,
                  label: c.name + (rel && rel.remark ? "（备注：" + rel.remark + "）" : "") + " · " +
                         c.external_userid.slice(-6) + (staff ? "" : " · " + c.follow.length + " 位成员")};
        })};
      });
    };
  }

  var groupCache = null;
  function allGroups(staff) {
    if (groupCache && groupCache.staff === staff) return groupCache.promise;
    var rows = [];
    function next(page) {
      return api("world/groups?" + qs({staff: staff, page: page, page_size: 200})).then(function (r) {
        rows = rows.concat(r.data.groups || []);
        return rows.length < (r.data.total || 0) && (r.data.groups || []).length ? next(page + 1) : rows;
      });
    }
    groupCache = {staff: staff, promise: next(1)};
    return groupCache.promise;
  }

  function groupSource(scope) {
    return function (q, page) {
      return allGroups(scope ? scope() : "").then(function (rows) {
        var hits = rows.filter(function (g) { return !q || g.name.indexOf(q) >= 0 || g.chat_id.indexOf(q) >= 0; });
        return {total: hits.length, pageSize: 20, items: hits.slice((page - 1) * 20, page * 20).map(function (g) {
          names[g.chat_id] = g.name || "未命名群聊";
          return {value: g.chat_id, row: g,
                  label: (g.name || "未命名群聊") + " · " + g.members + " 人 · 群主 " + g.owner_name};
        })};
      });
    };
  }

  // A search box, a short list and a pager; the <select> carries the form field `fieldName`.
  function Picker(container, fieldName, source, onChange) {
    var search = el("input", {type: "search", placeholder: "搜索名称、备注或 ID"});
    var list = el("select", {size: 5, name: fieldName});
    var info = el("span", {class: "muted"});
    var prev = el("button", {type: "button", class: "mini"}, "‹");
    var next = el("button", {type: "button", class: "mini"}, "›");
    var pager = el("div", {class: "pager"});
    pager.append(prev, info, next);
    container.classList.add("picker");
    container.append(search, list, pager);
    var page = 1, pages = 1, timer = null, seq = 0;

    function load() {
      var mine = ++seq, keep = list.value;
      info.textContent = "加载中…";
      return source(search.value.trim(), page).then(function (res) {
        if (mine !== seq) return;
        pages = Math.max(1, Math.ceil(res.total / res.pageSize));
        list.replaceChildren();
        res.items.forEach(function (item) { list.appendChild(el("option", {value: item.value}, item.label)); });
        list.value = keep;
        info.textContent = res.total ? "第 " + page + "/" + pages + " 页，共 " + res.total : "没有结果";
        prev.disabled = page <= 1;
        next.disabled = page >= pages;
      });
    }
    search.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { page = 1; load(); }, 250);
    });
    prev.addEventListener("click", function () { page = Math.max(1, page - 1); load(); });
    next.addEventListener("click", function () { page = Math.min(pages, page + 1); load(); });
    if (onChange) list.addEventListener("change", function () { onChange(list.value); });
    this.select = list;
    this.reload = function (resetPage) { if (resetPage) page = 1; return load(); };
    load();
  }

  function clock(epochSeconds) {
    return new Date(epochSeconds * 1000).toLocaleTimeString("zh-CN", {hour12: false});
  }

  return {el: el, api: api, qs: qs, names: names, name: name, loadStaff: loadStaff, fillStaff: fillStaff,
          customerSource: customerSource, groupSource: groupSource,
          forgetGroups: function () { groupCache = null; }, Picker: Picker, clock: clock,
          staff: function () { return staffRows; }};
})();
