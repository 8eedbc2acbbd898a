<?php
// mqchat-token.php: your site's token endpoint for the chat widget (docs/client.md, "The token endpoint").
// It answers the signed-in visitor's token, {"token":"…"}: an HS256 JWT signed with your
// domain's tokenSecret. The user id comes from YOUR session, never from the page.
// Settings: MQCHAT_DOMAIN (e.g. acme) and MQCHAT_TOKEN_SECRET (from POST /api/v1/domains).
session_start();
$userId = $_SESSION['user_id'] ?? null;   // however your site knows who is signed in
if ($userId === null) { http_response_code(401); exit; }

$b64 = fn (string $s): string => rtrim(strtr(base64_encode($s), '+/', '-_'), '=');
$header = $b64(json_encode(['alg' => 'HS256', 'typ' => 'JWT']));
$claims = $b64(json_encode([
    'sub' => (string) $userId,
    'aud' => getenv('MQCHAT_DOMAIN'),
    'exp' => time() + 3600,
    // optional: the profile others see (saved when the visitor connects)
    'name' => $_SESSION['display_name'] ?? null,
]));
$signature = $b64(hash_hmac('sha256', "$header.$claims", getenv('MQCHAT_TOKEN_SECRET'), true));

header('Content-Type: application/json');
header('Cache-Control: no-store');
echo json_encode(['token' => "$header.$claims.$signature"]);
