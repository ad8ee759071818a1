// CloudFront Function (runtime cloudfront-js-2.0), viewer request, on every behavior of the
// distribution. It sends each strategy's paths to what its origin expects, as the strategy's
// manifest declares ([package.metadata.genai-scaffold.cdn]), serves index.html for /, and
// answers 404 on any other path that is not a file (the path of a strategy the project lacks
// among them). The CDN stack fills in __ROUTES__: prefix:origin-path:exact per strategy
// present, comma separated, the stage already in each origin path.
var ROUTES = '__ROUTES__'
  .split(',')
  .filter(function (route) {
    return route !== '' && route !== 'none';
  })
  .map(function (route) {
    return route.split(':');
  });

function notFound() {
  return {
    statusCode: 404,
    statusDescription: 'Not Found',
    headers: { 'content-type': { value: 'text/plain' } },
    body: { encoding: 'text', data: 'This app has no strategy and no file at this path.' },
  };
}

function handler(event) {
  var request = event.request;
  var uri = request.uri;
  for (var i = 0; i < ROUTES.length; i++) {
    var prefix = ROUTES[i][0];
    var exact = ROUTES[i][2] === 'exact';
    // An exact rule owns prefix and prefix/; any other owns the paths below prefix.
    if (!(exact && uri === prefix) && uri.indexOf(prefix + '/') !== 0) continue;
    var below = uri.substring(prefix.length);
    if (exact && below !== '' && below !== '/') return notFound();
    request.uri = ROUTES[i][1] + (exact ? '' : below);
    return request;
  }
  // The web app: a file by its name, index.html for /. It has no routes of its own, so any
  // other path without a file extension is nobody's: 404, as make dev answers.
  if (uri === '/') request.uri = '/index.html';
  else if (uri.substring(uri.lastIndexOf('/') + 1).indexOf('.') === -1) return notFound();
  return request;
}
