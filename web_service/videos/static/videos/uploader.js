// The upload form: resumable uploads straight to the object store, with Uppy.
//
// The web starts the multipart upload and signs a PUT per part, several in one
// request (/api/uploads/, ingest/views/direct_uploads.py); the browser sends the parts
// to the store, so a dropped connection costs one part, not the file. Uppy's
// @uppy/aws-s3 (4.x) does the part loop, progress, retries and resume through
// its documented multipart callbacks, which call our endpoints with the
// session's CSRF header; GoldenRetriever keeps the file in IndexedDB so a
// reload continues where it stopped.
(function () {
  "use strict";

  var form = document.getElementById("upload-form");
  var limitsData = document.getElementById("upload-limits");
  if (!form || !limitsData || !window.Uppy) return;
  var fileInput = document.getElementById("id_file");
  var titleInput = document.getElementById("id_title");
  var dropZone = document.getElementById("drop-zone");
  var errorBox = document.getElementById("upload-error");
  var progressBox = document.getElementById("upload-progress");
  var bar = document.getElementById("upload-bar");
  var barText = document.getElementById("upload-text");
  var cancelButton = document.getElementById("upload-cancel");
  var submitButton = document.getElementById("upload-button");
  var uploadsUrl = form.dataset.uploadsUrl; // "/api/uploads/"
  // The server's limits and refusal sentences (ingest/limits.py, upload_limits_for_page),
  // so the page refuses before a byte is sent, in the server's words.
  var limits = JSON.parse(limitsData.textContent);
  var said = limits.messages;
  var maxBytes = limits.max_bytes;
  var quotaLeft = limits.quota_left_bytes;
  var MiB = 1024 * 1024;
  var chosen = null; // the File picked, not sent until Upload is clicked
  var discard = false; // the server refused the upload: drop it once Uppy is done

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // Same as human_size() in ingest/limits.py, so a size filled in reads as the server's.
  function humanSize(n) {
    var units = ["bytes", "KiB", "MiB", "GiB"], i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    if (i === 0) return Math.round(n) + " bytes";
    return (Number.isInteger(n) ? n : n.toFixed(1)) + " " + units[i];
  }

  // A sentence with its {name}s filled in; a value is inserted as it is, never read as a pattern.
  function fill(sentence, values) {
    return sentence.replace(/\{(\w+)\}/g, function (whole, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? values[name] : whole;
    });
  }

  function refusal(file) {
    if (file.size > maxBytes) return said.too_large;
    var type = (file.type || "").toLowerCase();
    if (type.indexOf("video/") !== 0 && limits.neutral_types.indexOf(type) < 0) return fill(said.not_a_video, { type: type });
    if (file.size === 0) return said.empty;
    if (!isNaN(quotaLeft) && file.size > quotaLeft) {
      return fill(said.over_quota, { needs: humanSize(file.size), left: humanSize(Math.max(0, quotaLeft)) });
    }
    return null;
  }

  // The server's part size (services/direct_uploads.py, direct_upload_part_size):
  // a sixteenth of the file in whole MiB, from 8 to 32 MiB, or what 10,000 parts need.
  function partSize(size) {
    var share = Math.ceil(size / 16 / MiB) * MiB;
    return Math.max(8 * MiB, Math.min(32 * MiB, share), Math.ceil(size / 10000));
  }

  // Uppy retries a part PUT once the browser is back online, but not our own
  // calls (sign, list, complete): a signature asked for while offline would
  // fail its few retries and end the upload. So each waits for the network.
  function whenOnline() {
    if (navigator.onLine !== false) return Promise.resolve();
    return new Promise(function (resolve) { window.addEventListener("online", resolve, { once: true }); });
  }

  function api(method, path, body, signal) {
    return whenOnline().then(function () {
      return window.fetch(uploadsUrl + path, {
        method: method,
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: signal,
      });
    }).then(function (r) {
      if (r.status === 204) return {};
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (r.ok) return data;
        var error = new Error(data.error || "The upload failed (HTTP " + r.status + ").");
        error.refused = true; // the server said no: retrying will not help
        throw error;
      });
    });
  }

  // Part URLs are signed several at a time (POST /parts/ {first}): one
  // signing round trip per PART_URLS parts instead of one per part, each
  // URL still for its part's exact length. A URL is used only while it has
  // more than half its life left, so a retry after a pause asks anew.
  var signed = {}; // "<uploadId>:<partNumber>" -> {url, until}
  var asking = {}; // uploadId -> {first, promise} of the batch being signed
  var PART_URLS = 16; // the server's most per request (PART_URLS_PER_REQUEST)
  function partUrl(opts) {
    var id = opts.uploadId, number = opts.partNumber, name = id + ":" + number;
    var kept = signed[name];
    delete signed[name]; // each URL once: a retried part gets a fresh one
    if (kept && kept.until > Date.now()) return Promise.resolve(kept.url);
    var batch = asking[id];
    if (batch && number > batch.first && number < batch.first + PART_URLS) {
      return batch.promise.then(function () { return partUrl(opts); }); // parts sent side by side
    }
    var promise = api("POST", id + "/parts/", { first: number, count: PART_URLS }, opts.signal);
    asking[id] = { first: number, promise: promise.catch(function () {}) };
    return promise.then(function (data) {
      var until = Date.now() + (data.expires_in * 1000) / 2, url = null;
      data.parts.forEach(function (p) {
        if (p.PartNumber === number) url = p.url;
        else signed[id + ":" + p.PartNumber] = { url: p.url, until: until };
      });
      if (asking[id] && asking[id].first === number) delete asking[id];
      return url;
    });
  }

  // Uppy's multipart callbacks, each one call to /api/uploads/. Uppy keeps
  // {uploadId, key} in the file's state (GoldenRetriever saves it), so after a
  // reload it lists the parts the store holds and sends only the others.
  // `uploadId` is our Upload's id, which the paths name; `key` is the source key.
  var uppy = new Uppy.Uppy({ id: "video-upload", autoProceed: false, restrictions: { maxNumberOfFiles: 1 } })
    .use(Uppy.AwsS3, {
      // Always multipart, small files too: the web has no single-PUT endpoint
      // (a file under 5 MiB is sent as one part).
      shouldUseMultipart: function () { return true; },
      getChunkSize: function (file) { return partSize(file.size); },
      // Parts go up eight at a time: one at a time left the store waiting
      // between them (services/direct_uploads.py says how fast each way was).
      // A dropped connection loses the parts in flight, at most half the
      // file; each is retried alone.
      limit: 8,
      // Network failures that are not "offline" (a store restart, a proxy):
      // a part is tried again after each of these pauses. Once they run out
      // the upload fails, and Uppy aborts it (DELETE); Upload starts it anew.
      retryDelays: [0, 1000, 3000, 5000, 10000, 20000],
      // The server starts the multipart upload (it checks size, type, quota
      // and the rate, and picks the key).
      createMultipartUpload: function (file) {
        return api("POST", "", {
          filename: file.name,
          size: file.size,
          content_type: file.data.type || "", // what the page checked, not Uppy's guess from the name
          title: file.meta.title || "",
        }).then(function (created) { return { uploadId: created.id, key: created.key }; });
      },
      signPart: function (file, opts) {
        return partUrl(opts).then(function (url) { return { method: "PUT", url: url }; });
      },
      listParts: function (file, opts) {
        return api("GET", opts.uploadId + "/parts/", undefined, opts.signal)
          .then(function (data) { return data.parts; });
      },
      completeMultipartUpload: function (file, opts) {
        var parts = opts.parts.map(function (p) { return { PartNumber: p.PartNumber, ETag: p.ETag }; });
        return api("POST", opts.uploadId + "/complete/", { parts: parts }, opts.signal)
          .then(function (video) { return { location: video.url, video: video }; });
      },
      abortMultipartUpload: function (file, opts) {
        return api("DELETE", opts.uploadId + "/").then(function () {});
      },
    })
    // IndexedDB holds the file itself, so a reload can send the rest of it.
    .use(Uppy.GoldenRetriever, { indexedDB: { maxFileSize: maxBytes, maxTotalSize: maxBytes } });

  function setBusy(busy) {
    submitButton.disabled = busy;
    cancelButton.hidden = !busy;
    progressBox.hidden = !busy;
  }

  function showProgress(loaded, total, started) {
    var seconds = (Date.now() - started) / 1000;
    bar.value = total ? Math.floor((loaded / total) * 100) : 0;
    barText.textContent = bar.value + "% · " + humanSize(loaded) + " of " + humanSize(total) +
      (seconds > 0.2 ? " · " + humanSize(loaded / seconds) + "/s" : "");
  }

  // Nothing is sent before Upload is clicked: only then is the file handed to
  // Uppy, which asks the server to start the upload (createMultipartUpload).
  function start(file) {
    errorBox.textContent = "";
    var problem = refusal(file);
    if (problem) { errorBox.textContent = problem; return; }
    setBusy(true);
    bar.value = 0;
    barText.textContent = "";
    try {
      uppy.clear();
      uppy.addFile({ name: file.name, type: file.type, data: file, meta: { title: titleInput.value } });
    } catch (error) {
      setBusy(false);
      errorBox.textContent = error.message;
      return;
    }
    uppy.upload().catch(function (error) { // failures of the file itself arrive as "upload-error"
      setBusy(false);
      errorBox.textContent = error.message;
    });
  }

  uppy.on("upload-progress", function (file, progress) {
    progressBox.hidden = false;
    showProgress(progress.bytesUploaded, progress.bytesTotal, progress.uploadStarted || Date.now());
  });
  uppy.on("upload-success", function (file, response) {
    var video = response.body.video || { url: response.body.location, status: "queued" };
    quotaLeft -= file.size;
    setBusy(false);
    chosen = null;
    form.reset();
    window.videoList.add({ url: video.url, status: video.status });
  });
  uppy.on("upload-error", function (file, error) {
    if (error && error.refused) { // a refusal stays a refusal
      errorBox.textContent = error.message;
      discard = true;
      setBusy(false);
      return;
    }
    // Uppy's retries (retryDelays) ran out.
    errorBox.textContent = "The upload was interrupted. Check your connection and click Upload to try again.";
    submitButton.disabled = false;
  });
  // Offline, Uppy holds the parts until the browser is back online and then
  // continues by itself; the page only says so.
  uppy.on("is-offline", function () {
    if (!progressBox.hidden) barText.textContent = "Offline: the upload continues when the connection is back.";
  });
  // Once Uppy is done with a file it sent, or that was refused, it is
  // removed (and GoldenRetriever forgets it); one that failed on the
  // network stays, to be tried again.
  uppy.on("complete", function (result) {
    if (discard || !result.failed.length) uppy.clear();
    discard = false;
  });

  // After a reload: a file GoldenRetriever kept, with its bytes, continues by itself.
  uppy.on("restored", function () {
    var files = uppy.getFiles();
    if (!files.length || files.some(function (f) { return !f.data || f.isGhost; })) { uppy.clear(); return; }
    setBusy(true);
    if (files[0].meta.title) titleInput.value = files[0].meta.title;
    uppy.emit("restore-confirmed");
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    // Upload again tries the interrupted file, unless another one was chosen
    // since: a file kept from an earlier visit must never block a new one.
    var kept = uppy.getFiles()[0];
    if (kept && !submitButton.disabled && (!chosen || kept.data === chosen)) {
      errorBox.textContent = "";
      submitButton.disabled = true;
      uppy.retryAll();
      return;
    }
    if (chosen) start(chosen);
    else errorBox.textContent = said.no_file;
  });
  function choose(file) {
    chosen = file;
    errorBox.textContent = refusal(file) || "";
  }
  fileInput.addEventListener("change", function () { if (fileInput.files.length) choose(fileInput.files[0]); });
  cancelButton.addEventListener("click", function () {
    uppy.cancelAll(); // aborts the multipart upload: DELETE /api/uploads/<id>/
    setBusy(false);
    errorBox.textContent = "Upload cancelled.";
  });

  ["dragenter", "dragover"].forEach(function (name) {
    dropZone.addEventListener(name, function (e) { e.preventDefault(); dropZone.classList.add("dragover"); });
  });
  ["dragleave", "drop"].forEach(function (name) {
    dropZone.addEventListener(name, function (e) { e.preventDefault(); dropZone.classList.remove("dragover"); });
  });
  dropZone.addEventListener("drop", function (e) {
    if (e.dataTransfer && e.dataTransfer.files.length) choose(e.dataTransfer.files[0]);
  });
})();
