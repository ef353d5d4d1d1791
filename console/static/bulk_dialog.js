/* ScrmBulk.openDialog(audience, options) — the 批量操作 dialog, for any console page (the customer
   list calls it with its current audience). Contract (docs/console.md "Bulk actions dialog"):

     const job = await ScrmBulk.openDialog({segment_id: 3}, {audienceLabel: "分群：高意向（1,234 位客户）"});

   * audience: what POST /api/v1/bulk-jobs takes as `audience` ({external_userids: [...], senders?},
     {segment_id}, {filters}); null → the dialog asks for external_userids, one per line.
   * options.audienceLabel: the words shown for that audience; options.kind: the action preselected
     (add_tags | remove_tags | start_sop | reassign).
   * Resolves with the created job (BulkJobSchema: id, status, percent, ...) or null when closed;
     the operator follows it in 任务中心 (/console/jobs). Validation is the API's: its 422 field
     messages show on the fields.

   Needs console.js (ScrmConsole.api, fieldErrors) and the vendored Vue / Element Plus; it mounts its
   own small Vue app on document.body, so the calling page needs no markup for it. */
"use strict";
(function () {
  const KINDS = [["add_tags", "添加标签"], ["remove_tags", "移除标签"], ["start_sop", "加入客户SOP"], ["reassign", "在职转接"]];
  const TEMPLATE = `
<el-dialog v-model="visible" title="批量操作" width="min(560px, 96vw)" class="bulk-dialog" @closed="closed" append-to-body>
  <el-form label-position="top" @submit.prevent>
    <el-form-item label="对象" :error="errors.audience || errors['audience.external_userids']">
      <div v-if="audience" class="audience-note" v-text="audienceLabel || '当前筛选的客户'"></div>
      <el-input v-else v-model="customers" type="textarea" :rows="3" name="customers"
                placeholder="每行一个客户的 external_userid"></el-input>
    </el-form-item>
    <el-form-item label="操作" :error="errors.kind">
      <el-radio-group v-model="kind" class="bulk-kind">
        <el-radio-button v-for="k in KINDS" :key="k[0]" :value="k[0]"><span v-text="k[1]"></span></el-radio-button>
      </el-radio-group>
    </el-form-item>
    <el-form-item v-if="kind === 'add_tags' || kind === 'remove_tags'" label="标签" :error="errors.tag_ids">
      <el-select v-model="tagIds" multiple filterable :allow-create="!tagGroups.length" default-first-option
                 placeholder="选择企业标签" class="bulk-tags" style="width: 100%">
        <el-option-group v-for="g in tagGroups" :key="g.group_id || g.name" :label="g.name || '未分组'">
          <el-option v-for="t in g.tags" :key="t.tag_id" :label="t.name" :value="t.tag_id"></el-option>
        </el-option-group>
      </el-select>
      <div class="hint">每位客户的每个跟进成员各调用一次企业微信「编辑客户标签」，按企业的接口频率限制分批执行。</div>
    </el-form-item>
    <el-form-item v-if="kind === 'start_sop'" label="客户SOP" :error="errors.sop_id">
      <el-select v-model="sopId" filterable placeholder="选择客户SOP" class="bulk-sop" style="width: 100%">
        <el-option v-for="s in sops" :key="s.id" :value="s.id" :disabled="s.status !== 'active'"
                   :label="s.status === 'active' ? s.name : s.name + '（已暂停）'"></el-option>
      </el-select>
      <div class="hint">从现在开始计时执行；已在该 SOP 中或不符合其适用条件的客户将跳过。</div>
    </el-form-item>
    <template v-if="kind === 'reassign'">
      <el-form-item label="接替成员" :error="errors.takeover_userid">
        <el-select v-model="takeover" filterable :allow-create="!staff.length" default-first-option
                   placeholder="选择在职成员" class="bulk-takeover" style="width: 100%">
          <el-option v-for="m in staff" :key="m.userid" :label="m.name || m.userid" :value="m.userid"></el-option>
        </el-select>
        <div class="hint">企业微信规定每位客户 90 天内最多转接 2 次；客户可在 24 小时内拒绝。</div>
      </el-form-item>
      <el-form-item label="转接成功后发给客户的消息（可选）" :error="errors.transfer_success_msg">
        <el-input v-model="message" type="textarea" :rows="2" maxlength="200" show-word-limit></el-input>
      </el-form-item>
    </template>
    <el-alert v-if="error" type="error" :title="error" show-icon :closable="false"></el-alert>
  </el-form>
  <template v-slot:footer>
    <el-button @click="visible = false">取消</el-button>
    <el-button type="primary" :loading="saving" @click="submit" class="bulk-submit">开始执行</el-button>
  </template>
</el-dialog>`;

  function grouped(tags) {
    const groups = new Map();
    for (const t of tags) {
      if (!groups.has(t.group)) groups.set(t.group, { group_id: t.group, name: t.group, tags: [] });
      groups.get(t.group).tags.push({ tag_id: t.id, name: t.name });
    }
    return [...groups.values()];
  }

  async function options() {
    const { api, bootstrap } = window.ScrmConsole;
    const found = { tagGroups: [], staff: [], sops: [] };
    const given = bootstrap.options; // pages that carry the operator options (任务中心, the operator pages)
    if (given && given.staff && given.tags) {
      found.tagGroups = grouped(given.tags);
      found.staff = given.staff;
    } else {
      try {
        const o = await api("/console/api/v1/customer-search/options");
        found.tagGroups = o.tag_groups || [];
        found.staff = o.staff || [];
      } catch (_) {
        try {
          found.tagGroups = await api("/console/api/v1/corp-tag-groups?page_size=200");
        } catch (_) { /* no tag resource: tag ids are typed in */ }
      }
    }
    try {
      found.sops = await api("/console/api/v1/sops");
    } catch (_) { /* none */ }
    return found;
  }

  function openDialog(audience, opts = {}) {
    const { api, fieldErrors } = window.ScrmConsole;
    const host = document.createElement("div");
    document.body.appendChild(host);
    return new Promise((resolve) => {
      let result = null;
      const app = Vue.createApp({
        template: TEMPLATE,
        data: () => ({
          KINDS, visible: true, audience, audienceLabel: opts.audienceLabel || "", customers: "",
          kind: opts.kind || "add_tags", tagIds: [], sopId: null, takeover: "", message: "",
          tagGroups: [], staff: [], sops: [], errors: {}, error: "", saving: false,
        }),
        async mounted() { Object.assign(this, await options()); },
        methods: {
          body() {
            const body = {
              kind: this.kind,
              audience: this.audience || {
                external_userids: this.customers.split(/\s+/).map((s) => s.trim()).filter(Boolean),
              },
            };
            if (this.kind === "add_tags" || this.kind === "remove_tags") body.tag_ids = this.tagIds;
            if (this.kind === "start_sop" && this.sopId !== null) body.sop_id = this.sopId;
            if (this.kind === "reassign") {
              if (this.takeover) body.takeover_userid = this.takeover;
              if (this.message.trim()) body.transfer_success_msg = this.message.trim();
            }
            return body;
          },
          async submit() {
            this.saving = true;
            this.errors = {};
            this.error = "";
            try {
              result = await api("/console/api/v1/bulk-jobs", { method: "POST", body: this.body() });
              this.visible = false;
              ElementPlus.ElMessage.success("已创建批量操作，可在「任务中心」查看进度");
            } catch (error) {
              this.errors = fieldErrors(error);
              this.error = Object.keys(this.errors).length ? "请修改标红的项" : error.message;
            } finally {
              this.saving = false;
            }
          },
          closed() {
            app.unmount();
            host.remove();
            resolve(result);
          },
        },
      });
      app.config.compilerOptions.delimiters = ["[[", "]]"];
      app.use(ElementPlus, { locale: ElementPlusLocaleZhCn });
      app.mount(host);
    });
  }

  window.ScrmBulk = { openDialog };
})();
