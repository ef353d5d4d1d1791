/* Parts of the customer view (loaded before sidebar.js, which calls them with its helpers): the
 * timeline with what each edit changed, the churn-risk card, and the card of a relation the
 * customer deleted (「客户已删除你」). Every server string goes into the page as text only. */
(function () {
  "use strict";

  var WECOM_SOURCES = ["callback", "sync"];  // edits made in WeCom, not in the sidebar

  window.scrmSidebarParts = function (ui) {
    var el = ui.el, append = ui.append, card = ui.card, when = ui.when, enc = ui.enc, request = ui.request;

    // ---- the timeline (客户动态) ----------------------------------------------------------------

    function shown(value) {
      return value === null || value === undefined || value === "" ? "（空）" : String(value);
    }

    function changeText(c) {
      if (c.added || c.removed) {
        var parts = [];
        if ((c.added || []).length) parts.push("添加 " + c.added.join("、"));
        if ((c.removed || []).length) parts.push("移除 " + c.removed.join("、"));
        return c.label + "：" + parts.join("；");
      }
      if (!("from" in c) && !("to" in c)) return c.label + "已更新";
      return c.label + "：" + shown(c.from) + " → " + shown(c.to);
    }

    function timelineItem(t) {
      var item = el("li", "timeline-item");
      var changes = t.changes || [];
      var text = t.summary && !changes.length ? (t.kind_label ? t.kind_label + "：" : "") + t.summary
                                              : (t.kind_label || t.kind || "");
      append(item, el("span", "muted", when(t.occurred_at) + " "), el("span", null, text),
             changes.length && WECOM_SOURCES.indexOf(t.source) >= 0 ? el("span", "pill", "企业微信") : null);
      if (changes.length) {
        var list = el("ul", "changes");
        changes.forEach(function (c) { list.appendChild(el("li", null, changeText(c))); });
        item.appendChild(list);
      }
      return item;
    }

    function timelineCard(id, timeline) {
      timeline = timeline || {items: [], next_before: null};
      var box = card("客户动态", "timeline");
      var list = el("ul", "list");
      (timeline.items || []).forEach(function (t) { list.appendChild(timelineItem(t)); });
      var before = timeline.next_before;
      var more = ui.button("加载更多", "link more", function () {
        more.disabled = true;
        request("GET", "customers/" + enc(id) + "/timeline?limit=20&before=" + enc(before)).then(function (r) {
          more.disabled = false;
          if (!r.ok) { ui.toast(ui.errorText(r), true); return; }
          (r.data.items || []).forEach(function (t) { list.appendChild(timelineItem(t)); });
          before = r.data.next_before;
          more.hidden = before === null || before === undefined;
        });
      });
      more.hidden = before === null || before === undefined;
      append(box, (timeline.items || []).length ? null : el("p", "muted", "暂无动态"), list, more);
      return box;
    }

    // After a save: the timeline's first page again, in place (no 刷新 needed).
    function refreshTimeline(id) {
      return request("GET", "customers/" + enc(id) + "/timeline?limit=20").then(function (r) {
        var old = document.querySelector("#view .timeline");
        if (r.ok && old) old.replaceWith(timelineCard(id, r.data));
      });
    }

    // ---- churn risk (scrm/services/profile/risk.py) ----------------------------------------------

    function churnCard(risk) {
      var box = card(null, "churn");
      if (!risk || !risk.level) {
        append(box, el("span", null, "流失风险：暂无评估"));
        return box;
      }
      box.classList.add("risk-" + String(risk.level).replace(/[^a-z]/g, ""));
      append(box, el("strong", null, "流失风险：" + (risk.level_label || risk.level)));
      var facts = [];
      if (risk.days_silent !== null && risk.days_silent !== undefined) facts.push(risk.days_silent + " 天未互动");
      if (risk.last_interaction_at) facts.push("最近互动 " + ui.day(risk.last_interaction_at));
      if (facts.length) box.appendChild(el("div", "muted", facts.join(" · ")));
      if ((risk.reasons || []).length) {
        var reasons = el("ul", "reasons");
        risk.reasons.forEach(function (reason) { reasons.appendChild(el("li", null, reason)); });
        box.appendChild(reasons);
      }
      return box;
    }

    // ---- a relation the customer deleted (del_follow_user) -----------------------------------------

    function deletedCard(rel, recall) {
      var box = card("客户已删除你", "deleted");
      append(box, el("p", null, (rel.status_changed_at ? "客户于 " + when(rel.status_changed_at) + " " : "客户已") +
                                "将你从好友中删除。以下历史与跟进记录仍可查看。"));
      var area = el("div", "recall");
      area.appendChild(el("h3", null, "找回客户"));
      if (recall) {
        var state = el("div", "muted", [recall.status_label, recall.due_at ? "计划 " + when(recall.due_at) : ""]
                                       .filter(Boolean).join(" · "));
        append(area, el("div", null, recall.title || "找回任务"), state,
               recall.script ? el("p", "pre", recall.script) : null);
        if (recall.done_at) {
          area.appendChild(el("p", "muted", "已于 " + when(recall.done_at) + " 联系"));
        } else {
          // Reached the customer by phone (or otherwise): recorded once, on the timeline.
          var done = ui.button("已联系", "primary small", function () {
            done.disabled = true;
            request("POST", "recalls/" + enc(recall.id) + "/sent").then(function (r) {
              if (!r.ok) { done.disabled = false; ui.toast(ui.errorText(r), true); return; }
              state.textContent = r.data.status_label || "已联系";
              done.replaceWith(el("p", "muted", "已于 " + when(r.data.sent_from_sidebar_at) + " 联系"));
              ui.toast("已记录联系");
            });
          });
          area.appendChild(done);
        }
      }
      var mobiles = (rel.remark_mobiles || []).filter(Boolean);
      if (mobiles.length) {
        area.appendChild(el("div", null, "备注电话：" + mobiles.join("、") + (rel.mobiles_masked ? "（已脱敏）" : "")));
      } else if (!recall) {
        area.appendChild(el("p", "muted", "没有备注电话，暂无其他联系方式。"));
      }
      box.appendChild(area);
      return box;
    }

    return {timelineCard: timelineCard, refreshTimeline: refreshTimeline, churnCard: churnCard,
            deletedCard: deletedCard};
  };
})();
