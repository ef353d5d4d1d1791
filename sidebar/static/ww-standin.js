/* The sandbox's stand-in for the WeCom JS-SDK (@wecom/jssdk). Served only in sandbox mode.
 *
 * Outside sandbox mode the sidebar loads the real SDK instead (the npm package @wecom/jssdk,
 * vendored under static/vendor/ and served from our own origin), whose `ww` has the same methods: register() signs
 * with the corp's jsapi_ticket and every call goes to the WeCom client that hosts the page.
 * Here the "client" is the simulator's chat window that frames this page: each call is a
 * window.postMessage to the parent, which answers with the current conversation.
 *
 * The parent's origin comes in the page URL (?ww_parent=http://127.0.0.1:5001); requests go to
 * that origin only and replies are accepted only from it (and only from window.parent).
 *
 * Protocol: → {type: "ww-standin:call", id, method, args}
 *           ← {type: "ww-standin:reply", id, ok, result}   (result is {errMsg: "...:fail ..."} if !ok)
 */
(function () {
  "use strict";
  var parentOrigin = new URLSearchParams(window.location.search).get("ww_parent") || "";
  var pending = {};
  var nextId = 1;
  var TIMEOUT_MS = 5000;

  window.addEventListener("message", function (event) {
    if (event.origin !== parentOrigin || event.source !== window.parent) return;
    var data = event.data;
    if (!data || data.type !== "ww-standin:reply" || !pending[data.id]) return;
    var call = pending[data.id];
    delete pending[data.id];
    clearTimeout(call.timer);
    (data.ok ? call.resolve : call.reject)(data.result);
  });

  function call(method, args) {
    return new Promise(function (resolve, reject) {
      if (!parentOrigin || window.parent === window) {
        reject({errMsg: method + ":fail 沙盒模式下请从模拟器的聊天窗口打开本页"});
        return;
      }
      var id = nextId++;
      pending[id] = {resolve: resolve, reject: reject, timer: setTimeout(function () {
        delete pending[id];
        reject({errMsg: method + ":fail timeout"});
      }, TIMEOUT_MS)};
      window.parent.postMessage({type: "ww-standin:call", id: id, method: method, args: args || {}},
                                parentOrigin);
    });
  }

  // Like @wecom/jssdk: register() takes the config and reports through its callbacks. The
  // signature callbacks are called if given (so a real sidebar's signing path runs in the
  // sandbox too); the stand-in does not check what they return.
  function register(opts) {
    opts = opts || {};
    var url = window.location.href.split("#")[0];
    var sign = function (fn) { return fn ? Promise.resolve().then(function () { return fn(url); }) : Promise.resolve(); };
    sign(opts.getConfigSignature).then(function () {
      if (opts.onConfigSuccess) opts.onConfigSuccess({errMsg: "config:ok"});
      return sign(opts.getAgentConfigSignature).then(function () {
        if (opts.onAgentConfigSuccess) opts.onAgentConfigSuccess({errMsg: "agentConfig:ok"});
      }, function (err) {
        if (opts.onAgentConfigFail) opts.onAgentConfigFail({errMsg: "agentConfig:fail " + err});
      });
    }, function (err) {
      if (opts.onConfigFail) opts.onConfigFail({errMsg: "config:fail " + err});
    });
  }

  window.ww = {
    SANDBOX_STANDIN: true,
    register: register,
    getContext: function () { return call("getContext"); },
    getCurExternalContact: function () { return call("getCurExternalContact"); },
    getCurExternalChat: function () { return call("getCurExternalChat"); },
    sendChatMessage: function (message) { return call("sendChatMessage", message); }
  };
})();
