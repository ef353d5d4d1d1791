/* <mass-message-form v-model="open" :audience="{segment_id: 3}" audience-label="分群：高意向" @created="...">:
   the 新建群发 drawer. Without an audience it asks for customers by external_userid. Validation is
   the API's (POST /console/api/v1/mass-messages): its 422 field messages show on the fields. */
"use strict";
(function () {
  const { api, components, fieldErrors } = window.ScrmConsole;
  const blank = () => ({ name: "", text: "", customers: "", monthly_cap: undefined });

  components["mass-message-form"] = {
    template: "#tpl-mass-message-form",
    props: { modelValue: Boolean, audience: { type: Object, default: null }, audienceLabel: String },
    emits: ["update:modelValue", "created"],
    data: () => ({ form: blank(), errors: {}, error: "", saving: false }),
    methods: {
      body() {
        const audience = this.audience || {
          external_userids: this.form.customers.split(/\s+/).map((s) => s.trim()).filter(Boolean),
        };
        const body = { name: this.form.name, text: this.form.text || null, audience };
        if (this.form.monthly_cap) body.monthly_cap = this.form.monthly_cap;
        return body;
      },
      async submit() {
        this.saving = true;
        this.errors = {};
        this.error = "";
        try {
          const created = await api("/console/api/v1/mass-messages", { method: "POST", body: this.body() });
          this.form = blank();
          this.$emit("update:modelValue", false);
          this.$emit("created", created);
          ElementPlus.ElMessage.success("已创建群发任务，等待成员在企业微信中确认发送");
        } catch (error) {
          this.errors = fieldErrors(error);
          this.error = Object.keys(this.errors).length ? "请修改标红的项" : error.message;
        } finally {
          this.saving = false;
        }
      },
    },
  };
})();
