/* 欢迎语: welcome templates (/console/api/v1/welcome-templates) with time-of-day variants,
   attachments, and a live preview of the placeholders the service renders ({nickname},
   {staff_name}) as a chat bubble beside the form. */
"use strict";
(function () {
  const { pages } = window.ScrmConsole;
  const { V1, crud, cleanAttachments, renderPreview, options, staffNames } = window.ScrmCrud;

  pages.welcome = {
    template: "#tpl-welcome",
    components: { "attachments-editor": window.ScrmCrud.attachmentsEditor },
    mixins: [crud({
      resource: `${V1}/welcome-templates`,
      blank: () => ({ name: "", text: "", attachments: [], variants: [], userids: [], is_default: false,
        nickname_fallback: "" }),
      fromRow: (row) => ({ name: row.name, text: row.text || "", attachments: row.attachments, userids: row.userids,
        is_default: row.is_default, nickname_fallback: row.nickname_fallback || "",
        variants: row.variants.map((v) => ({ ...v, weekdays: v.weekdays || [], text: v.text || "" })) }),
      payload(form) {
        return {
          name: form.name, text: form.text || null, attachments: cleanAttachments(form.attachments),
          userids: form.userids, is_default: form.is_default, nickname_fallback: form.nickname_fallback,
          variants: form.variants.map((v) => ({ name: v.name || "variant", start: v.start, end: v.end,
            weekdays: v.weekdays.length ? v.weekdays : null, text: v.text || null,
            attachments: cleanAttachments(v.attachments) })),
        };
      },
      label: (row) => row.name,
      matches(row) {
        const q = this.filters.q.trim().toLowerCase();
        return !q || [row.name, row.text].some((v) => (v || "").toLowerCase().includes(q));
      },
    })],
    data: () => ({
      filters: { q: "" },
      sample: { nickname: "小王", userid: (options.staff[0] || {}).userid || "", variant: -1 },
      weekdays: ["一", "二", "三", "四", "五", "六", "日"],
    }),
    computed: {
      staffLabel() { return staffNames[this.sample.userid] || "员工"; },
      staffInitial() { return this.staffLabel.slice(0, 1); },
      shown() {
        const v = this.form.variants[this.sample.variant];
        return v ? { text: v.text, attachments: v.attachments } : { text: this.form.text, attachments: this.form.attachments };
      },
      previewText() {
        const nickname = this.sample.nickname || this.form.nickname_fallback || "";
        return renderPreview(this.shown.text, { nickname, staff_name: this.staffLabel });
      },
      previewAttachments() { return this.shown.attachments || []; },
    },
    watch: { "filters.q"() { this.page = 1; } },
    methods: {
      insert(token) {
        const textarea = this.$refs.text && this.$refs.text.textarea;
        const text = this.form.text || "";
        const at = textarea ? textarea.selectionStart : text.length;
        this.form.text = text.slice(0, at) + token + text.slice(at);
      },
      addVariant() {
        this.form.variants.push({ name: "", start: "18:00", end: "09:00", weekdays: [], text: "", attachments: [] });
      },
      attachmentLabel(a) {
        const labels = { image: "[图片]", link: "[链接] ", miniprogram: "[小程序] ", video: "[视频]", file: "[文件]" };
        return (labels[a.msgtype] || "[附件]") + (a.title || a._filename || "");
      },
    },
  };
})();
