// The ipywidgets embed manager (static views of the widgets saved in a notebook), run from the book's _static/.
// Loaded before require.js and the manager, on pages that have widgets.

// 1. require.js takes a global `require` defined before it loads as its configuration: the manager's modules
//    resolve under _static/widgets/, where the site has the fonts they load relative to themselves (the path
//    from the page to the site's root is on <html data-content_root>).
var require = {
  paths: {"@jupyter-widgets": document.documentElement.dataset.content_root + "_static/widgets/@jupyter-widgets"},
};

// 2. The manager typesets widgets' text with MathJax 2's API (MathJax.Hub.Queue); the book loads MathJax 3.
//    When the page is parsed, MathJax has loaded (a deferred script) and the widgets are not drawn yet (the
//    manager draws them on the same event, after this listener): route that call to MathJax 3.
document.addEventListener("DOMContentLoaded", () => {
  if (window.MathJax && window.MathJax.startup) {
    window.MathJax.Hub = {
      Queue: (call) => MathJax.startup.promise.then(() => MathJax.typesetPromise([call[2]])),
    };
  }
});
