/* The 话术/素材 tab of the sidebar (loaded before sidebar.js, which calls it with its helpers):
 * search the content library, and send an item into the current chat in one tap
 * (ww.sendChatMessage, then POST contents/<id>/sent). Every server string is inserted as text. */
(function () {
  "use strict";

  window.scrmSidebarLibrary = function (ui) {
    var el = ui.el, append = ui.append, button = ui.button, input = ui.input, enc = ui.enc, request = ui.request;
    var toast = ui.toast, errorText = ui.errorText, wwError = ui.wwError, preview = ui.preview, labels = ui.labels;
    var conversation = ui.conversation;

    function openLibrary(library) {
      library.dataset.loaded = "1";
      var search = input("search", "");
      search.placeholder = "搜索话术、素材";
      var categories = el("div", "chips categories"), items = el("ul", "list items");
      var more = el("button", "link more", "加载更多");
      more.type = "button";
      var query = {q: "", category: "", page: 1};
      append(library, search, categories, items, more);
      var timer = null;
      search.addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(function () { query.q = search.value.trim(); query.page = 1; load(); }, 250);
      });
      more.addEventListener("click", function () { query.page += 1; load(); });

      function load() {
        var args = new URLSearchParams({q: query.q, category: query.category, page: String(query.page)});
        var chat = conversation();
        if (chat.external_userid) args.set("external_userid", chat.external_userid);
        request("GET", "contents?" + args.toString()).then(function (r) {
          if (!r.ok) { items.replaceChildren(el("li", "error", errorText(r))); more.hidden = true; return; }
          drawCategories(r.data.categories || []);
          if (query.page === 1) items.replaceChildren();
          (r.data.items || []).forEach(function (item) { items.appendChild(contentItem(item)); });
          if (!items.firstChild) items.appendChild(el("li", "muted", "没有找到话术或素材"));
          more.hidden = query.page * (r.data.page_size || 20) >= (r.data.total || 0);
        });
      }

      function drawCategories(list) {
        categories.replaceChildren();
        [{name: "", label: "全部"}].concat(list).forEach(function (c) {
          var label = c.label || (c.name + (c.count !== undefined ? "（" + c.count + "）" : ""));
          categories.appendChild(button(label, "chip" + (query.category === c.name ? " on" : ""), function () {
            query.category = c.name;
            query.page = 1;
            load();
          }));
        });
      }
      load();
    }

    function contentItem(item) {
      var li = el("li", "content-item");
      var uses = el("span", "muted", "已用 " + (item.use_count || 0) + " 次");
      var head = el("div", "content-head");
      append(head, el("span", "pill", item.kind_label || labels[item.kind] || item.kind),
             el("strong", null, item.title), uses);
      var sendable = item.sendable !== false && !!item.message;
      var send = el("span", sendable ? "send-hint" : "muted", sendable ? "点击发送" : "素材已失效，暂不能发送");
      append(li, head, el("div", "preview", item.preview || (sendable ? preview(item.message) : "")), send);
      if (!sendable) {
        li.classList.add("disabled");
        return li;
      }
      li.tabIndex = 0;
      li.setAttribute("role", "button");
      var busy = false;
      function go() {
        if (busy) return;
        busy = true;
        send.textContent = "发送中…";
        ww.sendChatMessage(item.message).then(function () {
          return request("POST", "contents/" + enc(item.id) + "/sent", conversation()).then(function (r) {
            if (r.ok && r.data.use_count !== undefined) uses.textContent = "已用 " + r.data.use_count + " 次";
            send.textContent = "已发送";
            toast("已发送到聊天");
          });
        }, function (err) {
          send.textContent = "点击发送";
          toast("发送失败：" + wwError(err), true);
        }).then(function () { busy = false; });
      }
      li.addEventListener("click", go);
      li.addEventListener("keydown", function (event) { if (event.key === "Enter") go(); });
      return li;
    }

    return {open: openLibrary};
  };
})();
