// The room's screen: ask the wall's JSON feed for changes every few seconds (a poll with a
// cursor rather than a held-open stream), add new comments on top, take hidden ones down.
(function () {
  "use strict";
  var list = document.getElementById("wall");
  if (!list || !window.fetch) return;
  var empty = document.getElementById("wall-empty");
  var hideForm = document.getElementById("hide-form");
  var cursor = list.getAttribute("data-cursor");
  var size = parseInt(list.getAttribute("data-size"), 10);
  var every = parseFloat(list.getAttribute("data-seconds")) * 1000;
  var failures = 0;

  function item(post) {
    var li = document.createElement("li");
    li.id = "post-" + post.id;
    li.setAttribute("data-id", post.id);
    li.appendChild(document.createTextNode(post.body + " "));
    var time = document.createElement("span");
    time.className = "meta";
    time.textContent = post.time;
    li.appendChild(time);
    if (hideForm) {
      var form = hideForm.content.firstElementChild.cloneNode(true);
      form.action = form.getAttribute("action").replace(/\/0\/moderate$/, "/" + post.id + "/moderate");
      li.appendChild(form);
    }
    return li;
  }

  // Newest (highest id) first; a post shown again after hiding goes back to its place.
  function place(li, id) {
    var next = list.firstElementChild;
    while (next && parseInt(next.getAttribute("data-id"), 10) > id) next = next.nextElementSibling;
    list.insertBefore(li, next);
  }

  function apply(answer) {
    answer.removed.forEach(function (id) {
      var gone = document.getElementById("post-" + id);
      if (gone) gone.remove();
    });
    answer.items.forEach(function (post) {
      if (!document.getElementById("post-" + post.id)) place(item(post), post.id);
    });
    while (list.children.length > size) list.lastElementChild.remove();
    if (empty) empty.hidden = list.children.length > 0;
    cursor = answer.cursor;
  }

  function poll() {
    fetch(list.getAttribute("data-poll") + "?after=" + encodeURIComponent(cursor), {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
      cache: "no-store"
    })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.json();
      })
      .then(function (answer) {
        apply(answer);
        failures = 0;
        setTimeout(poll, answer.more ? 0 : every);
      })
      .catch(function () {
        // The network of a meeting room comes and goes: wait longer each time, up to a minute.
        failures += 1;
        setTimeout(poll, Math.min(60000, every * Math.pow(2, failures)));
      });
  }

  setTimeout(poll, every);
})();
