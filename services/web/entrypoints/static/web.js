/* TMIS web: the little script the pages use. Everything works without it; with it, the
   queue gets "select all" and long uploads (imports, orgsync plan and apply) show progress. */
(function () {
  "use strict";

  function selectAll() {
    var all = document.getElementById("select-all");
    if (!all) return;
    all.addEventListener("change", function () {
      var boxes = document.querySelectorAll('input[type=checkbox][name="selected"]');
      for (var i = 0; i < boxes.length; i++) boxes[i].checked = all.checked;
    });
  }

  function withProgress(form) {
    form.addEventListener("submit", function (event) {
      if (!window.FormData || !window.XMLHttpRequest) return;  // plain post instead
      event.preventDefault();
      var box = form.querySelector(".progress");
      var bar = form.querySelector("progress");
      var text = form.querySelector('[role="status"]');
      var label = form.getAttribute("data-progress") || "请稍候…";
      var started = Date.now();
      var timer = null;
      if (box) box.hidden = false;
      var buttons = form.querySelectorAll("button");
      for (var i = 0; i < buttons.length; i++) buttons[i].disabled = true;
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.getAttribute("action"));
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable && bar) {
          bar.value = Math.round((e.loaded / e.total) * 100);
          if (text) text.textContent = "正在上传 " + bar.value + "%";
        }
      });
      xhr.upload.addEventListener("load", function () {
        if (bar) bar.removeAttribute("value");  // indeterminate while the server works
        timer = setInterval(function () {
          var s = Math.round((Date.now() - started) / 1000);
          if (text) text.textContent = label + "（已用 " + s + " 秒）";
        }, 500);
      });
      xhr.addEventListener("load", function () {
        if (timer) clearInterval(timer);
        if (xhr.responseURL && xhr.responseURL.indexOf(form.getAttribute("action")) === -1) {
          window.location.href = xhr.responseURL;  // the server redirected
          return;
        }
        document.open();
        document.write(xhr.responseText);
        document.close();
      });
      xhr.addEventListener("error", function () {
        if (timer) clearInterval(timer);
        if (text) text.textContent = "网络错误，请重试";
        for (var i = 0; i < buttons.length; i++) buttons[i].disabled = false;
      });
      var data = new FormData(form);
      if (event.submitter && event.submitter.name) {
        data.append(event.submitter.name, event.submitter.value);
      }
      xhr.send(data);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    selectAll();
    var forms = document.querySelectorAll("form[data-progress]");
    for (var i = 0; i < forms.length; i++) withProgress(forms[i]);
  });
})();
