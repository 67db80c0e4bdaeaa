<?php
/**
 * wasmdesk's exporter and eraser for WordPress core's privacy tools
 * (Tools > Export Personal Data, Tools > Erase Personal Data).
 *
 * WordPress calls each callback with the e-mail address and a page number
 * starting at 1 until it answers 'done' => true. wasmdesk pages with a
 * cursor instead (page numbers would skip rows while an eraser deletes
 * them), so the cursor for the next page is kept in a transient.
 */

if (!defined('ABSPATH')) {
    exit;
}

/** The transient that holds the cursor for `$page` of one request. */
function wasmdesk_privacy_cursor_key(string $kind, string $email, int $page): string
{
    return 'wasmdesk_' . $kind . '_' . md5(strtolower(trim($email))) . '_' . $page;
}

/**
 * One page of wasmdesk's export, in the shape WordPress expects:
 * ['data' => [['group_id', 'group_label', 'item_id', 'data' => [['name', 'value']]]], 'done' => bool]
 */
function wasmdesk_privacy_exporter(string $email, int $page = 1): array
{
    $cursor = null;
    if ($page > 1) {
        $cursor = get_transient(wasmdesk_privacy_cursor_key('export', $email, $page));
        if ($cursor === false) {
            return ['data' => [], 'done' => true];
        }
    }
    $result = wasmdesk_client()->call('privacy.export-page', ['email' => $email, 'cursor' => $cursor]);
    $data = [];
    foreach ($result['items'] as $item) {
        // WordPress merges groups of the same id across every exporter of
        // the site: make ours unique by prefix, plugin and group.
        $group = 'wasmdesk-' . $item['plugin'] . '-' . $item['group_id'];
        $data[] = [
            'group_id' => $group,
            'group_label' => $item['group_label'],
            'item_id' => $group . '-' . $item['item_id'],
            'data' => array_map(function ($field) {
                return ['name' => $field['name'], 'value' => $field['value']];
            }, $item['data']),
        ];
    }
    if ($result['next'] !== null) {
        set_transient(wasmdesk_privacy_cursor_key('export', $email, $page + 1), $result['next'], HOUR_IN_SECONDS);
    }
    return ['data' => $data, 'done' => $result['next'] === null];
}

/**
 * One page of wasmdesk's erasure, in the shape WordPress expects:
 * ['items_removed' => bool, 'items_retained' => bool, 'messages' => [string], 'done' => bool]
 */
function wasmdesk_privacy_eraser(string $email, int $page = 1): array
{
    $cursor = null;
    if ($page > 1) {
        $cursor = get_transient(wasmdesk_privacy_cursor_key('erase', $email, $page));
        if ($cursor === false) {
            return ['items_removed' => false, 'items_retained' => false, 'messages' => [], 'done' => true];
        }
    }
    $result = wasmdesk_client()->call('privacy.erase-page', ['email' => $email, 'cursor' => $cursor]);
    $messages = $result['messages'];
    foreach ($result['items_retained'] as $retained) {
        $messages[] = $retained['item'] . ': ' . $retained['reason'];
    }
    if ($result['next'] !== null) {
        set_transient(wasmdesk_privacy_cursor_key('erase', $email, $page + 1), $result['next'], HOUR_IN_SECONDS);
    }
    return [
        'items_removed' => $result['items_removed'] > 0,
        'items_retained' => count($result['items_retained']) > 0,
        'messages' => $messages,
        'done' => $result['next'] === null,
    ];
}

if (function_exists('add_filter')) {
    add_filter('wp_privacy_personal_data_exporters', function (array $exporters): array {
        $exporters['wasmdesk'] = [
            'exporter_friendly_name' => 'Helpdesk (wasmdesk)',
            'callback' => 'wasmdesk_privacy_exporter',
        ];
        return $exporters;
    });
    add_filter('wp_privacy_personal_data_erasers', function (array $erasers): array {
        $erasers['wasmdesk'] = [
            'eraser_friendly_name' => 'Helpdesk (wasmdesk)',
            'callback' => 'wasmdesk_privacy_eraser',
        ];
        return $erasers;
    });
}
