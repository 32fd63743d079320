CREATE TABLE `audit_events` (
	`id` integer PRIMARY KEY NOT NULL,
	`at` integer NOT NULL,
	`kind` text NOT NULL,
	`actor_id` integer,
	`actor_name` text,
	`subject_id` integer,
	`subject_name` text,
	`request_id` text NOT NULL,
	`ip` text NOT NULL,
	`user_agent` text NOT NULL,
	`details` text DEFAULT '{}' NOT NULL
);
--> statement-breakpoint
CREATE INDEX `audit_events_subject_idx` ON `audit_events` (`subject_id`,`id`);--> statement-breakpoint
CREATE INDEX `audit_events_kind_idx` ON `audit_events` (`kind`,`id`);--> statement-breakpoint
CREATE INDEX `audit_events_subject_kind_idx` ON `audit_events` (`subject_id`,`kind`,`id`);--> statement-breakpoint
CREATE INDEX `audit_events_at_idx` ON `audit_events` (`at`);