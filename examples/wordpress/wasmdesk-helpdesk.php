<?php
/**
 * Plugin Name: wasmdesk Helpdesk
 * Description: A support ticket form for visitors ([wasmdesk_ticket_form]) and a Helpdesk page in wp-admin to list and answer tickets. Tickets stay in your wasmdesk site, on your server.
 * Version: 0.1.0
 * Requires PHP: 7.4
 * License: Apache-2.0
 *
 * Set in wp-config.php:
 *   define('WASMDESK_BIN', '/usr/local/bin/wasmdesk');
 *   define('WASMDESK_SITE', '/srv/helpdesk');
 */

if (!defined('ABSPATH')) {
    exit;
}

// The client: a copy next to this file (a packaged plugin), or the one in
// this repository's examples/php.
foreach ([__DIR__ . '/WasmdeskClient.php', dirname(__DIR__) . '/php/WasmdeskClient.php'] as $wasmdesk_client_file) {
    if (is_readable($wasmdesk_client_file)) {
        require_once $wasmdesk_client_file;
        break;
    }
}

/**
 * What is wrong with the configuration, in words for the site owner; null
 * when WASMDESK_BIN and WASMDESK_SITE point at a binary and a site.
 */
function wasmdesk_config_problem(): ?string
{
    if (!class_exists('WasmdeskClient')) {
        return 'WasmdeskClient.php is missing: copy examples/php/WasmdeskClient.php next to wasmdesk-helpdesk.php.';
    }
    if (!defined('WASMDESK_BIN') || !defined('WASMDESK_SITE')) {
        return "Set WASMDESK_BIN (the wasmdesk binary) and WASMDESK_SITE (the site folder) in wp-config.php, e.g. define('WASMDESK_BIN', '/usr/local/bin/wasmdesk');";
    }
    if (!is_executable(WASMDESK_BIN)) {
        return 'WASMDESK_BIN is ' . WASMDESK_BIN . ', which is not an executable file.';
    }
    if (!is_file(rtrim(WASMDESK_SITE, '/') . '/site.db')) {
        return 'WASMDESK_SITE is ' . WASMDESK_SITE . ', which is not a wasmdesk site: create it with: wasmdesk --site ' . WASMDESK_SITE . ' init';
    }
    return null;
}

/** One bridge process per PHP request, started on first use. */
function wasmdesk_client(): WasmdeskClient
{
    static $client = null;
    $problem = wasmdesk_config_problem();
    if ($problem !== null) {
        throw new WasmdeskException('internal', $problem);
    }
    if ($client === null) {
        $client = new WasmdeskClient(WASMDESK_BIN, WASMDESK_SITE);
    }
    // wasmdesk's audit log records who asked: the logged-in user, else a visitor.
    $user = get_current_user_id();
    $client->setCaller($user > 0 ? "wp:user:$user" : 'wp:visitor');
    return $client;
}

// WordPress's privacy tools (Tools > Export / Erase Personal Data).
require_once __DIR__ . '/wasmdesk-privacy.php';

/** Tell administrators what to fix, on every admin page. */
add_action('admin_notices', function () {
    if (!current_user_can('manage_options')) {
        return;
    }
    $problem = wasmdesk_config_problem();
    if ($problem !== null) {
        printf('<div class="notice notice-error"><p><strong>wasmdesk Helpdesk:</strong> %s</p></div>', esc_html($problem));
    }
});

/* ---------------------------------------------------------------------------
 * The visitor's ticket form: [wasmdesk_ticket_form]
 * ------------------------------------------------------------------------- */

add_shortcode('wasmdesk_ticket_form', function () {
    $notice = '';
    if ($_SERVER['REQUEST_METHOD'] === 'POST' && isset($_POST['wasmdesk_ticket_nonce'])) {
        if (!wp_verify_nonce(sanitize_text_field(wp_unslash($_POST['wasmdesk_ticket_nonce'])), 'wasmdesk_ticket')) {
            $notice = '<p class="wasmdesk-error">' . esc_html__('The form expired; please send it again.') . '</p>';
        } else {
            try {
                $ticket = wasmdesk_client()->call('tickets.create', [
                    'email' => sanitize_email(wp_unslash($_POST['wasmdesk_email'] ?? '')),
                    'name' => sanitize_text_field(wp_unslash($_POST['wasmdesk_name'] ?? '')),
                    'subject' => sanitize_text_field(wp_unslash($_POST['wasmdesk_subject'] ?? '')),
                    'body' => sanitize_textarea_field(wp_unslash($_POST['wasmdesk_body'] ?? '')),
                ]);
                return '<p class="wasmdesk-thanks">' . esc_html(sprintf('Thank you. Your request #%d was received; we will answer by e-mail.', $ticket['id'])) . '</p>';
            } catch (WasmdeskException $e) {
                // Visitors see what they can fix; everything else is logged.
                $message = $e->errorCode === 'bad_request' ? $e->getMessage() : 'Your request could not be sent. Please try again later.';
                if ($e->errorCode !== 'bad_request') {
                    error_log('wasmdesk: ' . $e->errorCode . ': ' . $e->getMessage());
                }
                $notice = '<p class="wasmdesk-error">' . esc_html($message) . '</p>';
            }
        }
    }
    ob_start();
    echo $notice; ?>
    <form method="post" class="wasmdesk-ticket-form">
        <?php wp_nonce_field('wasmdesk_ticket', 'wasmdesk_ticket_nonce'); ?>
        <p><label>Name<br><input type="text" name="wasmdesk_name" autocomplete="name"></label></p>
        <p><label>E-mail<br><input type="email" name="wasmdesk_email" required autocomplete="email"></label></p>
        <p><label>Subject<br><input type="text" name="wasmdesk_subject" required></label></p>
        <p><label>How can we help?<br><textarea name="wasmdesk_body" rows="6" required></textarea></label></p>
        <p><button type="submit">Send</button></p>
    </form>
    <?php
    return ob_get_clean();
});

/* ---------------------------------------------------------------------------
 * wp-admin: Helpdesk page (list, view, reply, note, status)
 * ------------------------------------------------------------------------- */

add_action('admin_menu', function () {
    add_menu_page('Helpdesk', 'Helpdesk', 'edit_posts', 'wasmdesk-helpdesk', 'wasmdesk_admin_page', 'dashicons-sos', 30);
});

function wasmdesk_admin_url(array $args = []): string
{
    return add_query_arg(array_merge(['page' => 'wasmdesk-helpdesk'], $args), admin_url('admin.php'));
}

function wasmdesk_admin_page(): void
{
    if (!current_user_can('edit_posts')) {
        wp_die(esc_html__('You may not answer tickets.'));
    }
    echo '<div class="wrap"><h1>Helpdesk</h1>';
    if (isset($_GET['wasmdesk_error'])) {
        printf('<div class="notice notice-error"><p>%s</p></div>', esc_html(sanitize_text_field(wp_unslash($_GET['wasmdesk_error']))));
    }
    try {
        if (isset($_GET['ticket'])) {
            wasmdesk_admin_ticket((int) $_GET['ticket']);
        } else {
            wasmdesk_admin_list();
        }
    } catch (WasmdeskException $e) {
        printf('<div class="notice notice-error"><p>%s (%s)</p></div>', esc_html($e->getMessage()), esc_html($e->errorCode));
    }
    echo '</div>';
}

function wasmdesk_admin_list(): void
{
    $args = ['limit' => 25];
    foreach (['status', 'text', 'cursor'] as $key) {
        if (!empty($_GET[$key])) {
            $args[$key] = $key === 'cursor' ? (int) $_GET[$key] : sanitize_text_field(wp_unslash($_GET[$key]));
        }
    }
    $page = wasmdesk_client()->call('tickets.list', $args);
    ?>
    <form method="get">
        <input type="hidden" name="page" value="wasmdesk-helpdesk">
        <select name="status">
            <option value="">All statuses</option>
            <?php foreach (['open', 'pending', 'resolved', 'closed'] as $status) : ?>
                <option value="<?php echo esc_attr($status); ?>" <?php selected($args['status'] ?? '', $status); ?>><?php echo esc_html(ucfirst($status)); ?></option>
            <?php endforeach; ?>
        </select>
        <input type="search" name="text" value="<?php echo esc_attr($args['text'] ?? ''); ?>" placeholder="Search">
        <button class="button">Filter</button>
    </form>
    <table class="widefat striped">
        <thead><tr><th>#</th><th>Subject</th><th>Customer</th><th>Status</th><th>Priority</th><th>Updated</th></tr></thead>
        <tbody>
        <?php foreach ($page['tickets'] as $t) : ?>
            <tr>
                <td><?php echo (int) $t['id']; ?></td>
                <td><a href="<?php echo esc_url(wasmdesk_admin_url(['ticket' => $t['id']])); ?>"><?php echo esc_html($t['subject']); ?></a></td>
                <td><?php echo esc_html($t['email']); ?></td>
                <td><?php echo esc_html($t['status']); ?></td>
                <td><?php echo esc_html($t['priority']); ?></td>
                <td><?php echo esc_html(wp_date('Y-m-d H:i', (int) ($t['updated_at'] / 1000))); ?></td>
            </tr>
        <?php endforeach; ?>
        </tbody>
    </table>
    <?php if ($page['next_cursor'] !== null) : ?>
        <p><a class="button" href="<?php echo esc_url(wasmdesk_admin_url(array_merge($args, ['cursor' => $page['next_cursor']]))); ?>">Older tickets</a></p>
    <?php endif;
}

function wasmdesk_admin_ticket(int $id): void
{
    $t = wasmdesk_client()->call('tickets.get', ['id' => $id]);
    printf('<h2>#%d %s</h2><p>%s &middot; %s &middot; %s</p>', (int) $t['id'], esc_html($t['subject']), esc_html($t['email']), esc_html($t['status']), esc_html($t['priority']));
    foreach ($t['messages'] as $m) {
        $who = $m['internal'] ? 'Internal note' : ($m['author'] === 'agent' ? 'Agent' : 'Customer');
        printf(
            '<div class="card" style="max-width:none%s"><p><strong>%s</strong> &middot; %s</p>%s</div>',
            $m['internal'] ? ';background:#fff8e5' : '',
            esc_html($who),
            esc_html(wp_date('Y-m-d H:i', (int) ($m['created_at'] / 1000))),
            wpautop(esc_html($m['body']))
        );
    }
    ?>
    <form method="post" action="<?php echo esc_url(admin_url('admin-post.php')); ?>">
        <?php wp_nonce_field('wasmdesk_answer_' . $id); ?>
        <input type="hidden" name="action" value="wasmdesk_answer">
        <input type="hidden" name="ticket" value="<?php echo (int) $id; ?>">
        <p><textarea name="body" rows="6" class="large-text" required></textarea></p>
        <p>
            <button class="button button-primary" name="kind" value="reply">Reply to customer</button>
            <button class="button" name="kind" value="note">Add internal note</button>
        </p>
    </form>
    <form method="post" action="<?php echo esc_url(admin_url('admin-post.php')); ?>">
        <?php wp_nonce_field('wasmdesk_status_' . $id); ?>
        <input type="hidden" name="action" value="wasmdesk_status">
        <input type="hidden" name="ticket" value="<?php echo (int) $id; ?>">
        <select name="status">
            <?php foreach (['open', 'pending', 'resolved', 'closed'] as $status) : ?>
                <option value="<?php echo esc_attr($status); ?>" <?php selected($t['status'], $status); ?>><?php echo esc_html(ucfirst($status)); ?></option>
            <?php endforeach; ?>
        </select>
        <button class="button">Set status</button>
    </form>
    <?php
}

/** Run a wasmdesk op for a form post, then go back to the ticket. */
function wasmdesk_admin_post(string $nonce_action, callable $op): void
{
    $id = (int) ($_POST['ticket'] ?? 0);
    if (!current_user_can('edit_posts') || !check_admin_referer($nonce_action . $id)) {
        wp_die(esc_html__('You may not answer tickets.'));
    }
    $args = ['ticket' => $id];
    try {
        $op($id);
    } catch (WasmdeskException $e) {
        $args['wasmdesk_error'] = $e->getMessage();
    }
    wp_safe_redirect(wasmdesk_admin_url($args));
    exit;
}

add_action('admin_post_wasmdesk_answer', function () {
    wasmdesk_admin_post('wasmdesk_answer_', function (int $id) {
        $body = sanitize_textarea_field(wp_unslash($_POST['body'] ?? ''));
        $op = (($_POST['kind'] ?? '') === 'note') ? 'tickets.note' : 'tickets.reply';
        wasmdesk_client()->call($op, ['id' => $id, 'body' => $body]);
    });
});

add_action('admin_post_wasmdesk_status', function () {
    wasmdesk_admin_post('wasmdesk_status_', function (int $id) {
        wasmdesk_client()->call('tickets.set-status', ['id' => $id, 'status' => sanitize_text_field(wp_unslash($_POST['status'] ?? ''))]);
    });
});
