// Banso's own script: confirmations before destructive actions, and htmx errors shown to the user.
// Loaded with `defer` from our static folder; the Content-Security-Policy forbids inline script.
(function () {
  "use strict";

  // <form data-confirm="…"> or a submit <button data-confirm="…">: ask before submitting.
  // Capture phase, so it runs before htmx's handler.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter;
    var message = (button && button.getAttribute("data-confirm")) || (form.getAttribute && form.getAttribute("data-confirm"));
    if (message && !window.confirm(message)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // <input type="checkbox" data-select-all="ids">: ticks or clears every checkbox named "ids" in its form.
  document.addEventListener("change", function (event) {
    var box = event.target;
    var name = box.getAttribute && box.getAttribute("data-select-all");
    if (!name || !box.form) { return; }
    box.form.querySelectorAll('input[type="checkbox"][name="' + name + '"]').forEach(function (item) {
      item.checked = box.checked;
    });
  });

  // The header's area menus (<details>): opening one closes the others; a click elsewhere or Escape closes it.
  function closeMenus(except) {
    document.querySelectorAll("details.site-nav__menu[open]").forEach(function (menu) {
      if (menu !== except) { menu.removeAttribute("open"); }
    });
  }
  document.addEventListener("click", function (event) {
    // A click (or Enter, which clicks) on one menu closes the others; anywhere else, all of them.
    closeMenus(event.target.closest ? event.target.closest("details.site-nav__menu") : null);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { closeMenus(null); }
  });
  // <button data-print>: print this page (the recovery codes, shown once).
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-print]")) { window.print(); }
  });

  function showError(text) {
    var box = document.getElementById("htmx-error");
    if (!box) { window.alert(text); return; }
    box.textContent = text;
    box.hidden = false;
    box.scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("htmx:beforeRequest", function () {
    var box = document.getElementById("htmx-error");
    if (box) { box.hidden = true; }
  });
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    var messages = {
      400: "画面の有効期限が切れた可能性があります。再読み込みしてから、もう一度操作してください。",
      403: "この操作を行う権限がありません。",
      404: "対象が見つかりません。画面を再読み込みしてください。",
      429: "操作が集中しています。しばらくしてから、もう一度お試しください。",
      503: "ただいま一時的に利用できません。しばらくしてから、もう一度お試しください。"
    };
    showError(messages[status] || "処理中にエラーが発生しました（" + status + "）。時間をおいて再度お試しください。");
  });
  document.addEventListener("htmx:sendError", function () {
    showError("サーバーに接続できませんでした。ネットワークの状態を確認して、もう一度お試しください。");
  });
  document.addEventListener("htmx:timeout", function () {
    showError("応答がありませんでした。もう一度お試しください。");
  });
})();

// <input data-select-all="name">: tick or untick every checkbox of that name.
document.addEventListener("change", function (event) {
  var name = event.target.getAttribute && event.target.getAttribute("data-select-all");
  if (!name) { return; }
  document.querySelectorAll('input[type="checkbox"][name="' + name + '"]').forEach(function (box) {
    box.checked = event.target.checked;
  });
});
